import {
  status as GrpcStatus,
  Metadata,
  type MetadataValue,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
} from '@grpc/grpc-js'
import { extractApiKey } from '@spansift/core/api-key'
import type { Authenticator } from '@spansift/core/authenticator'
import type { Stage } from '@spansift/core/lifecycle'
import type { Logger } from '@spansift/core/logger'
import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import {
  encodeExportLogsResponse,
  encodeExportTraceResponse,
  encodeRetryStatus,
} from '@spansift/core/otlp/responses'
import type { SpanLimits } from '@spansift/core/otlp/span-limits'
import type { WireTrace } from '@spansift/core/otlp/split-by-trace-wire'
import type { SpanContentEvent } from '@spansift/core/span-content-event'
import type { Span } from '@spansift/core/span-model'
import {
  createIngestMetrics,
  type IngestDeps,
  type IngestOutcome,
  ingestExport,
  RPC_CODE_BY_OUTCOME,
} from './ingest-export.ts'
import { createLogsIngestMetrics, ingestLogs, type LogsIngestDeps } from './ingest-logs.ts'

/** The OTLP/gRPC message limit, after decompression: the same 20 MiB as OTLP/HTTP. */
export const DEFAULT_MAX_MESSAGE_BYTES = 20 * 1024 * 1024

/** The full name of the one method served. */
export const TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export'

/** The logs service's method, served when the receiver is given `publishContent`. */
export const LOGS_EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export'

/** How long shutdown waits for calls in flight before cutting them off. */
const SHUTDOWN_GRACE_MS = 10_000

export interface OtlpGrpcReceiverOptions {
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
  /** Takes GenAI content events of LogsService/Export; without it the logs service is not served. */
  publishContent?(events: readonly SpanContentEvent[]): Promise<void>
  logger: Logger
  /** Where export metrics go (`spansift_spans_*`, `spansift_export_duration_seconds`); nowhere by default. */
  metrics?: Metrics
  /** What one span may carry, and when; `DEFAULT_SPAN_LIMITS` by default. */
  spanLimits?: SpanLimits
  maxMessageBytes?: number
}

export interface OtlpGrpcReceiver extends Stage {
  /** The port actually bound (useful with port 0). */
  port(): number
}

const identity = (bytes: Buffer): Buffer => bytes
const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/**
 * `opentelemetry.proto.collector.trace.v1.TraceService`, built by hand so grpc-js hands
 * the handler the raw request bytes: the hand-written codec decodes them (faster than a
 * generated one), and a malformed message becomes INVALID_ARGUMENT with the decoder's
 * reason rather than grpc-js's generic INTERNAL for a throwing deserializer. The client
 * half serves tests and the benchmark, which send encoded requests.
 */
export const traceServiceDefinition = {
  Export: {
    path: TRACE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: toBuffer,
    requestDeserialize: identity,
    responseSerialize: toBuffer,
    responseDeserialize: identity,
  },
} satisfies ServiceDefinition

/** `opentelemetry.proto.collector.logs.v1.LogsService`, raw bytes in and out like the trace service. */
export const logsServiceDefinition = {
  Export: { ...traceServiceDefinition.Export, path: LOGS_EXPORT_PATH },
} satisfies ServiceDefinition

/**
 * OTLP/gRPC trace receiver, per the OTLP specification: the key from `authorization:
 * Bearer` or `x-api-key` metadata, gzip (grpc-js inflates it, and enforces the 20 MiB
 * limit on the inflated message, stopping a gzip bomb early), partial success for spans it
 * cannot take, and the retryable statuses UNAVAILABLE and RESOURCE_EXHAUSTED with a
 * `google.rpc.RetryInfo` when the pipeline cannot store now. Shares its behaviour with the
 * OTLP/HTTP receiver through `ingestExport`.
 */
export function createOtlpGrpcReceiver(options: OtlpGrpcReceiverOptions): OtlpGrpcReceiver {
  const logger = options.logger.child({ component: 'otlp-grpc' })
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
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  let server: Server | undefined
  let boundPort: number | undefined

  function exportTraces(
    call: ServerUnaryCall<Buffer, Uint8Array>,
    callback: sendUnaryData<Uint8Array>,
  ): void {
    const key = extractApiKey({
      authorization: firstString(call.metadata.get('authorization')),
      apiKey: firstString(call.metadata.get('x-api-key')),
    })
    ingestExport(deps, { transport: 'grpc', key, format: 'protobuf', body: async () => call.request }).then(
      (outcome) => answer(outcome, callback, 'traces'),
      (error: unknown) => {
        logger.error('export failed unexpectedly', { error })
        callback({ code: GrpcStatus.INTERNAL, details: 'internal error' })
      },
    )
  }

  function exportLogs(call: ServerUnaryCall<Buffer, Uint8Array>, callback: sendUnaryData<Uint8Array>): void {
    const key = extractApiKey({
      authorization: firstString(call.metadata.get('authorization')),
      apiKey: firstString(call.metadata.get('x-api-key')),
    })
    ingestLogs(logsDeps!, {
      transport: 'grpc',
      key,
      format: 'protobuf',
      body: async () => call.request,
    }).then(
      (outcome) => answer(outcome, callback, 'logs'),
      (error: unknown) => {
        logger.error('logs export failed unexpectedly', { error })
        callback({ code: GrpcStatus.INTERNAL, details: 'internal error' })
      },
    )
  }

  function answer(
    outcome: IngestOutcome,
    callback: sendUnaryData<Uint8Array>,
    signal: 'traces' | 'logs',
  ): void {
    switch (outcome.kind) {
      case 'accepted':
        callback(
          null,
          signal === 'logs'
            ? encodeExportLogsResponse(undefined, 'protobuf')
            : encodeExportTraceResponse(undefined, 'protobuf'),
        )
        break
      case 'partial':
        callback(
          null,
          signal === 'logs'
            ? encodeExportLogsResponse(
                { rejectedLogRecords: outcome.rejected, errorMessage: outcome.message },
                'protobuf',
              )
            : encodeExportTraceResponse(
                { rejectedSpans: outcome.rejected, errorMessage: outcome.message },
                'protobuf',
              ),
        )
        break
      case 'overloaded':
      case 'unavailable': {
        const code = RPC_CODE_BY_OUTCOME[outcome.kind]
        const trailers = new Metadata()
        trailers.set(
          'grpc-status-details-bin',
          toBuffer(encodeRetryStatus(code, outcome.message, outcome.retryAfterSeconds)),
        )
        callback({ code, details: outcome.message, metadata: trailers })
        break
      }
      default:
        callback({ code: RPC_CODE_BY_OUTCOME[outcome.kind], details: outcome.message })
    }
  }

  return {
    port: () => boundPort ?? options.port,
    async start() {
      const grpcServer = new Server({ 'grpc.max_receive_message_length': maxMessageBytes })
      grpcServer.addService(traceServiceDefinition, { Export: exportTraces })
      if (logsDeps) grpcServer.addService(logsServiceDefinition, { Export: exportLogs })
      boundPort = await new Promise<number>((resolve, reject) => {
        grpcServer.bindAsync(
          `${hostForAddress(options.host)}:${options.port}`,
          ServerCredentials.createInsecure(),
          (error, port) => (error ? reject(error) : resolve(port)),
        )
      })
      server = grpcServer
      logger.info('OTLP/gRPC receiver listening', { host: options.host, port: boundPort })
    },
    async shutdown() {
      const closing = server
      if (!closing) return
      server = undefined
      // Calls in flight are answered (their spans are stored or refused) before the port closes.
      await new Promise<void>((resolve) => {
        const deadline = setTimeout(() => {
          logger.warn('OTLP/gRPC calls still in flight at shutdown; cutting them off')
          closing.forceShutdown()
          resolve()
        }, SHUTDOWN_GRACE_MS)
        closing.tryShutdown(() => {
          clearTimeout(deadline)
          resolve()
        })
      })
      boundPort = undefined
    },
  }
}

function firstString(values: MetadataValue[]): string | undefined {
  const value = values[0]
  return typeof value === 'string' ? value : undefined
}

/** IPv6 literals are bracketed in a gRPC target (`[::1]:4317`). */
function hostForAddress(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
