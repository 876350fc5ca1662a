import { BusUnavailableError } from '@spansift/bus/span-bus'
import type { Authenticator } from '@spansift/core/authenticator'
import type { Logger } from '@spansift/core/logger'
import { DURATION_BUCKETS_SECONDS, type Metrics, noopMetrics } from '@spansift/core/metrics'
import { OtlpDecodeError } from '@spansift/core/otlp/decode-error'
import { decodeExportTraceRequestJson } from '@spansift/core/otlp/decode-json'
import { decodeExportTraceRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import type { OtlpExportTraceRequest, OtlpFormat } from '@spansift/core/otlp/otlp-types'
import { DEFAULT_SPAN_LIMITS, type SpanLimits } from '@spansift/core/otlp/span-limits'
import { splitExportTraceRequestByTrace, type WireTrace } from '@spansift/core/otlp/split-by-trace-wire'
import type { Span } from '@spansift/core/span-model'
import { isPermanentStorageError } from '@spansift/core/storage-errors'
import { authorizeExport, RETRY_AFTER_SECONDS } from './authorize-export.ts'
import { BodyError } from './read-body.ts'

/** The transport an export came over: a metrics label. */
export type Transport = 'http' | 'grpc'

/** What a receiver needs to take an export: who may send, and where accepted spans go. */
export interface IngestDeps {
  authenticator: Authenticator
  /** Takes accepted spans (decoded from an export of `sizeBytes`); resolves once they are durable. */
  publish(spans: readonly Span[], sizeBytes: number): Promise<void>
  /**
   * Takes the traces of a protobuf export split on the wire, one record each; resolves once
   * they are durable. When given (the Kafka bus), protobuf exports take the wire path and
   * are never decoded into spans; JSON exports still go through `publish`.
   */
  publishEncoded?(traces: readonly WireTrace[]): Promise<void>
  logger: Logger
  /** The ingest metrics of this process (see `createIngestMetrics`); none by default. */
  metrics?: IngestMetrics
  /** What one span may carry, and when; `DEFAULT_SPAN_LIMITS` by default. */
  spanLimits?: SpanLimits
}

/** One export, as any transport hands it over. */
export interface IngestRequest {
  transport: Transport
  /** The API key the request carried, if any. */
  key: string | undefined
  format: OtlpFormat
  /**
   * The encoded ExportTraceServiceRequest. Called only once the key is accepted, so a
   * transport that streams the body does not read it for a caller it turns away. Errors
   * it throws (a transport's own body errors) go up to the caller untouched.
   */
  body(): Promise<Buffer>
}

/**
 * How an export ended, independent of the transport. `accepted` stored every span;
 * `partial` stored the valid spans and rejected the rest (still a success, per OTLP);
 * the others stored nothing. `overloaded` and `unavailable` are retryable after
 * `retryAfterSeconds`.
 */
export type IngestOutcome =
  | { kind: 'accepted'; accepted: number }
  | { kind: 'partial'; accepted: number; rejected: number; message: string }
  | { kind: 'unauthenticated'; message: string }
  | { kind: 'forbidden'; message: string }
  | { kind: 'invalid'; message: string }
  | { kind: 'overloaded'; message: string; retryAfterSeconds: number }
  | { kind: 'unavailable'; message: string; retryAfterSeconds: number }

export type IngestOutcomeKind = IngestOutcome['kind']

/**
 * The google.rpc.Code of every outcome: the gRPC status, and the `code` of the
 * google.rpc.Status body OTLP/HTTP answers errors with. One table, so the two
 * transports cannot drift apart.
 */
export const RPC_CODE_BY_OUTCOME: Record<IngestOutcomeKind, number> = {
  accepted: 0, // OK
  partial: 0, // OK
  invalid: 3, // INVALID_ARGUMENT
  forbidden: 7, // PERMISSION_DENIED
  overloaded: 8, // RESOURCE_EXHAUSTED
  unavailable: 14, // UNAVAILABLE
  unauthenticated: 16, // UNAUTHENTICATED
}

/**
 * How a request ended, as the export duration histogram labels it: the outcome kinds,
 * plus the body errors a transport raises before the export could be decoded
 * (`too_large`; any other unreadable body is `invalid`) and `internal`.
 */
export type ExportResult = IngestOutcomeKind | 'too_large' | 'internal'

/** The metrics every export records, whatever its transport. Label values are closed sets. */
export interface IngestMetrics {
  spansReceived(transport: Transport, count: number): void
  spansAccepted(transport: Transport, count: number): void
  spansRejected(transport: Transport, reason: SpanRejection, count: number): void
  exportFinished(transport: Transport, result: ExportResult, seconds: number): void
}

/** Why spans of a decoded export were not stored. */
export type SpanRejection = 'invalid' | 'storage_refused' | 'overloaded' | 'unavailable'

/** Creates the ingest metrics on `metrics` (both receivers of a process share them). */
export function createIngestMetrics(metrics: Metrics): IngestMetrics {
  const received = metrics.counter({
    name: 'spansift_spans_received_total',
    help: 'Spans decoded from OTLP exports (valid or not), by transport.',
    labelNames: ['transport'],
  })
  const accepted = metrics.counter({
    name: 'spansift_spans_accepted_total',
    help: 'Spans accepted (durable on the bus) by transport.',
    labelNames: ['transport'],
  })
  const rejected = metrics.counter({
    name: 'spansift_spans_rejected_total',
    help: 'Spans of decoded exports that were not stored, by transport and reason (invalid: bad ids, timestamps or over the span limits; storage_refused; overloaded; unavailable). Requests refused before decoding count in spansift_export_duration_seconds_count by outcome.',
    labelNames: ['transport', 'reason'],
  })
  const duration = metrics.histogram({
    name: 'spansift_export_duration_seconds',
    help: 'OTLP export requests: time to answer, by transport and outcome (its _count counts requests by outcome).',
    labelNames: ['transport', 'outcome'],
    buckets: DURATION_BUCKETS_SECONDS,
  })
  return {
    spansReceived: (transport, count) => received.inc({ transport }, count),
    spansAccepted: (transport, count) => accepted.inc({ transport }, count),
    spansRejected: (transport, reason, count) => rejected.inc({ transport, reason }, count),
    exportFinished: (transport, outcome, seconds) => duration.observe(seconds, { transport, outcome }),
  }
}

const noopIngestMetrics = createIngestMetrics(noopMetrics)

/**
 * Takes one OTLP trace export, whatever the transport (see `decideExport`), and records
 * its metrics: the one place both transports count spans and time requests.
 */
export async function ingestExport(deps: IngestDeps, request: IngestRequest): Promise<IngestOutcome> {
  const metrics = deps.metrics ?? noopIngestMetrics
  const started = performance.now()
  let result: ExportResult = 'internal'
  try {
    const outcome = await decideExport(deps, request, metrics)
    result = outcome.kind
    return outcome
  } catch (error) {
    if (error instanceof BodyError) result = error.kind === 'too_large' ? 'too_large' : 'invalid'
    throw error
  } finally {
    metrics.exportFinished(request.transport, result, (performance.now() - started) / 1000)
  }
}

/**
 * Decides one OTLP trace export: authenticate the key (an
 * application key; the admin key cannot export), decode, normalize (spans with bad ids,
 * timestamps outside the window, or over the span limits are rejected and counted), publish, and say how it went.
 * With `publishEncoded`, a protobuf export is checked and split by trace on its bytes instead
 * of decoded and normalized: same checks, same reasons, no span objects. Unexpected errors are thrown;
 * the transport answers them as internal errors.
 */
async function decideExport(
  deps: IngestDeps,
  request: IngestRequest,
  metrics: IngestMetrics,
): Promise<IngestOutcome> {
  const authorization = await authorizeExport(deps, request.key, 'spans')
  if (authorization.kind !== 'authorized') return authorization

  const body = await request.body()
  const limits = deps.spanLimits ?? DEFAULT_SPAN_LIMITS
  let accepted: number
  let rejectedSpans: number
  let rejectionMessage: string
  let publish: () => Promise<void>
  try {
    const publishEncoded = deps.publishEncoded
    if (request.format === 'protobuf' && publishEncoded) {
      // The wire path: checked and split by trace on the bytes, no span objects.
      const split = splitExportTraceRequestByTrace(body, {
        applicationId: authorization.applicationId,
        limits,
      })
      ;({ acceptedSpans: accepted, rejectedSpans, rejectionMessage } = split)
      publish = () => publishEncoded(split.traces)
    } else {
      const decoded: OtlpExportTraceRequest =
        request.format === 'protobuf'
          ? decodeExportTraceRequestProtobuf(body)
          : decodeExportTraceRequestJson(body.toString('utf8'))
      const normalized = normalizeExportTraceRequest(decoded, {
        applicationId: authorization.applicationId,
        limits,
      })
      ;({ rejectedSpans, rejectionMessage } = normalized)
      accepted = normalized.spans.length
      publish = () => deps.publish(normalized.spans, body.length)
    }
  } catch (error) {
    if (!(error instanceof OtlpDecodeError)) throw error
    return {
      kind: 'invalid',
      message: `the ${request.format} body is not a valid ExportTraceServiceRequest: ${error.message}`,
    }
  }
  metrics.spansReceived(request.transport, accepted + rejectedSpans)
  if (rejectedSpans > 0) metrics.spansRejected(request.transport, 'invalid', rejectedSpans)

  try {
    await publish()
  } catch (error) {
    if (error instanceof BusUnavailableError) {
      metrics.spansRejected(request.transport, error.reason, accepted)
      return {
        kind: error.reason,
        message: error.message,
        retryAfterSeconds: error.retryAfterSeconds,
      }
    }
    if (isPermanentStorageError(error)) {
      // Storage refused these spans (other requests' spans were stored): resending them
      // would fail the same way, so the answer is permanent and the exporter drops them.
      metrics.spansRejected(request.transport, 'storage_refused', accepted)
      deps.logger.warn('export refused by storage; answering invalid', { spans: accepted, error })
      return { kind: 'invalid', message: `storage refused the spans: ${error.message}` }
    }
    // Storage failed: nothing was acknowledged, the exporter keeps the spans and retries.
    metrics.spansRejected(request.transport, 'unavailable', accepted)
    deps.logger.warn('export not stored; answering retryable', { spans: accepted, error })
    return {
      kind: 'unavailable',
      message: 'the spans could not be stored right now; retry later',
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    }
  }
  metrics.spansAccepted(request.transport, accepted)
  return rejectedSpans > 0
    ? { kind: 'partial', accepted, rejected: rejectedSpans, message: rejectionMessage }
    : { kind: 'accepted', accepted }
}
