import { BusUnavailableError } from '@spansift/bus/span-bus'
import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import { OtlpDecodeError } from '@spansift/core/otlp/decode-error'
import { decodeExportLogsRequestJson } from '@spansift/core/otlp/decode-json'
import { decodeExportLogsRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { normalizeExportLogsRequest } from '@spansift/core/otlp/normalize-logs'
import type { OtlpExportLogsRequest } from '@spansift/core/otlp/otlp-logs-types'
import { DEFAULT_SPAN_LIMITS } from '@spansift/core/otlp/span-limits'
import type { SpanContentEvent } from '@spansift/core/span-content-event'
import { isPermanentStorageError } from '@spansift/core/storage-errors'
import { authorizeExport, RETRY_AFTER_SECONDS } from './authorize-export.ts'
import type { IngestDeps, IngestOutcome, IngestRequest, Transport } from './ingest-export.ts'

/** What a receiver needs to take a logs export: the trace ingest's deps, and where content events go. */
export interface LogsIngestDeps extends Pick<IngestDeps, 'authenticator' | 'logger' | 'spanLimits'> {
  /** Takes accepted content events; resolves once they are durable. */
  publishContent(events: readonly SpanContentEvent[]): Promise<void>
  metrics?: LogsIngestMetrics
}

/** Log record counters, by transport and outcome (closed sets). */
export interface LogsIngestMetrics {
  records(transport: Transport, outcome: LogRecordOutcome, count: number): void
}

/** What became of a decoded log record. */
export type LogRecordOutcome = 'stored' | 'ignored' | 'rejected' | 'storage_refused' | 'unavailable'

/** Creates the logs ingest metrics on `metrics` (both receivers share them). */
export function createLogsIngestMetrics(metrics: Metrics): LogsIngestMetrics {
  const counter = metrics.counter({
    name: 'spansift_log_records_total',
    help: 'OTLP log records decoded, by transport and outcome: stored (GenAI content events), ignored (other records, accepted and not stored), rejected (partial success: no span ids, over the span limits), storage_refused (permanent refusal), unavailable (retryable refusal).',
    labelNames: ['transport', 'outcome'],
  })
  return { records: (transport, outcome, count) => counter.inc({ transport, outcome }, count) }
}

const noopLogsMetrics = createLogsIngestMetrics(noopMetrics)

/**
 * Takes one OTLP logs export, with the same keys, outcomes and google.rpc codes as a trace
 * export (`ingestExport`): authenticate, decode, keep the GenAI content events (records tied
 * to a span whose event name starts with `gen_ai.`), publish them, and answer. Other records
 * are accepted and counted, not stored; content events that cannot be tied to a span are
 * rejected with the reason (partial success). `accepted`/`rejected` count log records.
 */
export async function ingestLogs(deps: LogsIngestDeps, request: IngestRequest): Promise<IngestOutcome> {
  const metrics = deps.metrics ?? noopLogsMetrics
  const authorization = await authorizeExport(deps, request.key, 'logs')
  if (authorization.kind !== 'authorized') return authorization
  const body = await request.body()
  let decoded: OtlpExportLogsRequest
  try {
    decoded =
      request.format === 'protobuf'
        ? decodeExportLogsRequestProtobuf(body)
        : decodeExportLogsRequestJson(body.toString('utf8'))
  } catch (error) {
    if (!(error instanceof OtlpDecodeError)) throw error
    return {
      kind: 'invalid',
      message: `the ${request.format} body is not a valid ExportLogsServiceRequest: ${error.message}`,
    }
  }
  const { events, ignoredRecords, rejectedRecords, rejectionMessage } = normalizeExportLogsRequest(decoded, {
    applicationId: authorization.applicationId,
    receivedAtUnixNano: BigInt(Date.now()) * 1_000_000n,
    limits: deps.spanLimits ?? DEFAULT_SPAN_LIMITS,
  })
  metrics.records(request.transport, 'ignored', ignoredRecords)
  metrics.records(request.transport, 'rejected', rejectedRecords)
  try {
    await deps.publishContent(events)
  } catch (error) {
    if (error instanceof BusUnavailableError) {
      metrics.records(request.transport, 'unavailable', events.length)
      return { kind: error.reason, message: error.message, retryAfterSeconds: error.retryAfterSeconds }
    }
    if (isPermanentStorageError(error)) {
      // Refused by storage (embedded): resending would fail the same way.
      metrics.records(request.transport, 'storage_refused', events.length)
      deps.logger.warn('logs export refused by storage; answering invalid', { events: events.length, error })
      return { kind: 'invalid', message: `storage refused the log records: ${error.message}` }
    }
    metrics.records(request.transport, 'unavailable', events.length)
    deps.logger.warn('logs export not stored; answering retryable', { events: events.length, error })
    return {
      kind: 'unavailable',
      message: 'the log records could not be stored right now; retry later',
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    }
  }
  metrics.records(request.transport, 'stored', events.length)
  const accepted = events.length + ignoredRecords
  return rejectedRecords > 0
    ? { kind: 'partial', accepted, rejected: rejectedRecords, message: rejectionMessage }
    : { kind: 'accepted', accepted }
}
