import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extractApiKey } from '@spansift/core/api-key'
import type { Authenticator } from '@spansift/core/authenticator'
import type { Stage } from '@spansift/core/lifecycle'
import type { Logger } from '@spansift/core/logger'
import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import type { OtlpFormat } from '@spansift/core/otlp/otlp-types'
import {
  encodeExportLogsResponse,
  encodeExportTraceResponse,
  encodeRpcStatus,
} from '@spansift/core/otlp/responses'
import type { SpanLimits } from '@spansift/core/otlp/span-limits'
import type { WireTrace } from '@spansift/core/otlp/split-by-trace-wire'
import type { SpanContentEvent } from '@spansift/core/span-content-event'
import type { Span } from '@spansift/core/span-model'
import {
  createIngestMetrics,
  type IngestDeps,
  type IngestOutcome,
  type IngestOutcomeKind,
  ingestExport,
  RPC_CODE_BY_OUTCOME,
} from './ingest-export.ts'
import { createLogsIngestMetrics, ingestLogs, type LogsIngestDeps } from './ingest-logs.ts'
import { BodyError, readBody } from './read-body.ts'

/** The OTLP/HTTP body limit, after decompression (the Collector's default is 20 MiB too). */
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024

/** google.rpc.Code values used in OTLP error bodies. */
const RpcCode = {
  invalidArgument: 3,
  internal: 13,
  notFound: 5,
  unimplemented: 12,
} as const

/** The HTTP status of every export outcome (the OTLP/HTTP specification's mapping). */
const HTTP_STATUS_BY_OUTCOME: Record<IngestOutcomeKind, number> = {
  accepted: 200,
  partial: 200,
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  overloaded: 429,
  unavailable: 503,
}

/** The HTTP status of every body that could not be read. */
const BODY_ERROR_STATUS: Record<BodyError['kind'], number> = {
  too_large: 413,
  bad_encoding: 400,
  unsupported_encoding: 415,
  aborted: 400,
  empty: 400,
}

export interface OtlpHttpReceiverOptions {
  host: string
  port: number
  authenticator: Authenticator
  /** Takes accepted spans (decoded from an export of `sizeBytes`); resolves once they are durable. */
  publish(spans: readonly Span[], sizeBytes: number): Promise<void>
  /**
   * Takes the traces of a protobuf export split on the wire (the Kafka bus's `publishEncoded`);
   * when given, protobuf exports are never decoded into spans (see `ingestExport`).
   */
  publishEncoded?(traces: readonly WireTrace[]): Promise<void>
  /** Takes GenAI content events of `POST /v1/logs`; without it there is no logs endpoint. */
  publishContent?(events: readonly SpanContentEvent[]): Promise<void>
  logger: Logger
  /** Where export metrics go (`spansift_spans_*`, `spansift_export_duration_seconds`); nowhere by default. */
  metrics?: Metrics
  /** What one span may carry, and when; `DEFAULT_SPAN_LIMITS` by default. */
  spanLimits?: SpanLimits
  maxBodyBytes?: number
}

export interface OtlpHttpReceiver extends Stage {
  /** The port actually bound (useful with port 0). */
  port(): number
}

interface Answer {
  status: number
  body: Uint8Array | string
  format: OtlpFormat
  headers?: Record<string, string>
}

const CONTENT_TYPES: Record<OtlpFormat, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
}

/**
 * OTLP/HTTP receiver (`POST /v1/traces`, and `POST /v1/logs` with `publishContent`), per the OTLP specification: protobuf
 * and JSON, gzip, 20 MiB limit, partial success for spans it cannot take, and the
 * retryable statuses (429/503 with Retry-After) when the pipeline cannot store now.
 */
export function createOtlpHttpReceiver(options: OtlpHttpReceiverOptions): OtlpHttpReceiver {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const drainLimitBytes = 2 * maxBodyBytes
  const logger = options.logger.child({ component: 'otlp-http' })
  const deps: IngestDeps = {
    authenticator: options.authenticator,
    publish: options.publish,
    ...(options.publishEncoded ? { publishEncoded: options.publishEncoded } : {}),
    logger,
    metrics: createIngestMetrics(options.metrics ?? noopMetrics),
    ...(options.spanLimits ? { spanLimits: options.spanLimits } : {}),
  }
  const publishContent = options.publishContent
  const logsDeps: LogsIngestDeps | undefined = publishContent && {
    authenticator: options.authenticator,
    publishContent,
    logger,
    metrics: createLogsIngestMetrics(options.metrics ?? noopMetrics),
    ...(options.spanLimits ? { spanLimits: options.spanLimits } : {}),
  }
  let server: Server | undefined
  /** Set at shutdown: answers close their connection, so keep-alive exporters let the server close. */
  let stopping = false

  async function handle(request: IncomingMessage): Promise<Answer> {
    const path = (request.url ?? '/').split('?', 1)[0]
    const format = formatOf(request.headers['content-type'])
    const answerFormat = format ?? 'json'
    const logs = path === '/v1/logs' && logsDeps !== undefined
    if (path !== '/v1/traces' && !logs) {
      return status(
        404,
        RpcCode.notFound,
        `no such endpoint ${path}; OTLP traces go to POST /v1/traces${logsDeps ? ', logs to POST /v1/logs' : ''}`,
        answerFormat,
      )
    }
    if (request.method !== 'POST') {
      return {
        ...status(405, RpcCode.unimplemented, 'use POST', answerFormat),
        headers: { allow: 'POST' },
      }
    }
    if (!format) {
      return status(
        415,
        RpcCode.invalidArgument,
        `Content-Type "${request.headers['content-type'] ?? ''}" is not supported; use application/x-protobuf or application/json`,
        'json',
      )
    }
    const key = extractApiKey({
      authorization: request.headers.authorization,
      apiKey: headerValue(request.headers['x-api-key']),
    })
    let outcome: IngestOutcome
    try {
      const exportRequest = {
        transport: 'http' as const,
        key,
        format,
        body: async () => {
          const body = await readBody(request, maxBodyBytes)
          if (body.length === 0) throw new BodyError('empty', 'the request body is empty')
          return body
        },
      }
      outcome = logs ? await ingestLogs(logsDeps, exportRequest) : await ingestExport(deps, exportRequest)
    } catch (error) {
      if (!(error instanceof BodyError)) throw error
      return status(BODY_ERROR_STATUS[error.kind], RpcCode.invalidArgument, error.message, format)
    }
    switch (outcome.kind) {
      case 'accepted':
        return {
          status: 200,
          body: logs
            ? encodeExportLogsResponse(undefined, format)
            : encodeExportTraceResponse(undefined, format),
          format,
        }
      case 'partial':
        return {
          status: 200,
          body: logs
            ? encodeExportLogsResponse(
                { rejectedLogRecords: outcome.rejected, errorMessage: outcome.message },
                format,
              )
            : encodeExportTraceResponse(
                { rejectedSpans: outcome.rejected, errorMessage: outcome.message },
                format,
              ),
          format,
        }
      case 'overloaded':
      case 'unavailable':
        return {
          ...status(
            HTTP_STATUS_BY_OUTCOME[outcome.kind],
            RPC_CODE_BY_OUTCOME[outcome.kind],
            outcome.message,
            format,
          ),
          headers: { 'retry-after': String(outcome.retryAfterSeconds) },
        }
      default:
        return status(
          HTTP_STATUS_BY_OUTCOME[outcome.kind],
          RPC_CODE_BY_OUTCOME[outcome.kind],
          outcome.message,
          format,
        )
    }
  }

  function respond(request: IncomingMessage, response: ServerResponse, answer: Answer): void {
    const bodyLength =
      typeof answer.body === 'string' ? Buffer.byteLength(answer.body) : answer.body.byteLength
    response.writeHead(answer.status, {
      'content-type': CONTENT_TYPES[answer.format],
      'content-length': bodyLength,
      ...answer.headers,
      // While shutting down, no connection is kept alive (a busy one would hold the port open).
      ...(stopping ? { connection: 'close' } : {}),
    })
    response.end(answer.body)
    if (!request.complete) response.on('finish', () => discardRest(request, drainLimitBytes))
  }

  function status(code: number, rpcCode: number, message: string, format: OtlpFormat): Answer {
    return { status: code, body: encodeRpcStatus(rpcCode, message, format), format }
  }

  return {
    port: () => (server?.address() as AddressInfo | null)?.port ?? options.port,
    async start() {
      stopping = false
      server = createServer({ keepAliveTimeout: 65_000 }, (request, response) => {
        handle(request)
          .catch((error: unknown): Answer => {
            logger.error('export failed unexpectedly', { error })
            return status(
              500,
              RpcCode.internal,
              'internal error',
              formatOf(request.headers['content-type']) ?? 'json',
            )
          })
          .then((answer) => respond(request, response, answer))
      })
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject)
        server!.listen(options.port, options.host, () => resolve())
      })
      logger.info('OTLP/HTTP receiver listening', { host: options.host, port: this.port() })
    },
    async shutdown() {
      if (!server) return
      stopping = true
      const closing = new Promise<void>((resolve) => server!.close(() => resolve()))
      server.closeIdleConnections()
      await closing
      server = undefined
    },
  }
}

/** How long the rest of a refused body is read and discarded at most. */
const DRAIN_MAX_MS = 10_000

/**
 * Reads and discards the rest of a body the answer did not need (a 413, a refused key),
 * so the client reads the answer: closing a connection the client is still writing to
 * makes the kernel reset it, and the client sees a reset instead of the 413 and retries.
 * A body that goes on past `limitBytes` more, or for `DRAIN_MAX_MS`, is cut off.
 */
function discardRest(request: IncomingMessage, limitBytes: number): void {
  let discarded = 0
  const cutOff = () => request.destroy()
  const timer = setTimeout(cutOff, DRAIN_MAX_MS)
  timer.unref()
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.length
    if (discarded > limitBytes) cutOff()
  })
  request.once('close', () => clearTimeout(timer))
  request.resume()
}

function formatOf(contentType: string | undefined): OtlpFormat | undefined {
  const base = contentType?.split(';', 1)[0]?.trim().toLowerCase()
  if (base === 'application/x-protobuf' || base === 'application/protobuf') return 'protobuf'
  if (base === 'application/json') return 'json'
  return undefined
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
