import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BusUnavailableError } from '@spansift/bus/span-bus'
import { extractApiKey } from '@spansift/core/api-key'
import type { Authenticator } from '@spansift/core/authenticator'
import type { Stage } from '@spansift/core/lifecycle'
import type { Logger } from '@spansift/core/logger'
import type { Span } from '@spansift/core/span-model'
import {
  decodeRequest,
  encodeResponse,
  encodeStatus,
  isDecodeError,
  normalize,
  type OtlpFormat,
} from './otlp-codec.ts'
import { BodyError, readBody } from './read-body.ts'

/** The OTLP/HTTP body limit, after decompression (the Collector's default is 20 MiB too). */
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024

/** google.rpc.Code values used in OTLP error bodies. */
const RpcCode = {
  invalidArgument: 3,
  permissionDenied: 7,
  resourceExhausted: 8,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16,
  notFound: 5,
  unimplemented: 12,
} as const

export interface OtlpHttpReceiverOptions {
  host: string
  port: number
  authenticator: Authenticator
  /** Takes accepted spans; resolves once they are durable. */
  publish(spans: readonly Span[]): Promise<void>
  logger: Logger
  maxBodyBytes?: number
  /** Optional observer of every export's outcome (metrics). */
  onExport?(outcome: ExportOutcome): void
}

export interface ExportOutcome {
  status: number
  accepted: number
  rejected: number
  durationMs: number
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
 * OTLP/HTTP trace receiver (`POST /v1/traces`), per the OTLP specification: protobuf
 * and JSON, gzip, 20 MiB limit, partial success for spans it cannot take, and the
 * retryable statuses (429/503 with Retry-After) when the pipeline cannot store now.
 */
export function createOtlpHttpReceiver(options: OtlpHttpReceiverOptions): OtlpHttpReceiver {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const logger = options.logger.child({ component: 'otlp-http' })
  let server: Server | undefined

  async function handle(
    request: IncomingMessage,
  ): Promise<Answer & { accepted?: number; rejected?: number }> {
    const path = (request.url ?? '/').split('?', 1)[0]
    const format = formatOf(request.headers['content-type'])
    const answerFormat = format ?? 'json'
    if (path !== '/v1/traces') {
      return status(
        404,
        RpcCode.notFound,
        `no such endpoint ${path}; OTLP traces go to POST /v1/traces`,
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
    let principal: Awaited<ReturnType<Authenticator['authenticate']>>
    try {
      principal = await options.authenticator.authenticate(key)
    } catch (error) {
      // The key store is unreachable: the exporter keeps its spans and retries.
      logger.warn('could not check the API key; answering retryable', { error })
      return {
        ...status(503, RpcCode.unavailable, 'the API key cannot be checked right now; retry later', format),
        headers: { 'retry-after': '2' },
      }
    }
    if (!principal) {
      return status(
        401,
        RpcCode.unauthenticated,
        key ? 'the API key is not valid' : 'an API key is required',
        format,
      )
    }
    if (principal.kind !== 'application') {
      return status(
        403,
        RpcCode.permissionDenied,
        'exporting spans needs an application key, not the admin key',
        format,
      )
    }

    let body: Buffer
    try {
      body = await readBody(request, maxBodyBytes)
    } catch (error) {
      if (!(error instanceof BodyError)) throw error
      const code = { too_large: 413, bad_encoding: 400, unsupported_encoding: 415, aborted: 400 }[error.kind]
      return status(code, RpcCode.invalidArgument, error.message, format)
    }
    if (body.length === 0) return status(400, RpcCode.invalidArgument, 'the request body is empty', format)

    let decoded: ReturnType<typeof decodeRequest>
    try {
      decoded = decodeRequest(format, body)
    } catch (error) {
      if (!isDecodeError(error)) throw error
      return status(
        400,
        RpcCode.invalidArgument,
        `the ${format} body is not a valid ExportTraceServiceRequest: ${error.message}`,
        format,
      )
    }
    const { spans, rejectedSpans, rejectionMessage } = normalize(decoded, principal.applicationId)

    try {
      await options.publish(spans)
    } catch (error) {
      if (error instanceof BusUnavailableError) {
        const code = error.reason === 'overloaded' ? 429 : 503
        const rpc = error.reason === 'overloaded' ? RpcCode.resourceExhausted : RpcCode.unavailable
        return {
          ...status(code, rpc, error.message, format),
          headers: { 'retry-after': String(error.retryAfterSeconds) },
        }
      }
      // Storage failed: nothing was acknowledged, the exporter keeps the spans and retries.
      logger.warn('export not stored; answering retryable', { spans: spans.length, error })
      return {
        ...status(503, RpcCode.unavailable, 'the spans could not be stored right now; retry later', format),
        headers: { 'retry-after': '2' },
      }
    }
    const partial = rejectedSpans > 0 ? { rejectedSpans, errorMessage: rejectionMessage } : undefined
    return {
      status: 200,
      body: encodeResponse(partial, format),
      format,
      accepted: spans.length,
      rejected: rejectedSpans,
    }
  }

  function respond(request: IncomingMessage, response: ServerResponse, answer: Answer): void {
    const bodyLength =
      typeof answer.body === 'string' ? Buffer.byteLength(answer.body) : answer.body.byteLength
    response.writeHead(answer.status, {
      'content-type': CONTENT_TYPES[answer.format],
      'content-length': bodyLength,
      ...answer.headers,
      // A body we stopped reading cannot be followed by another request on this connection.
      ...(request.complete ? {} : { connection: 'close' }),
    })
    response.end(answer.body)
    if (!request.complete) response.on('finish', () => request.destroy())
  }

  function status(code: number, rpcCode: number, message: string, format: OtlpFormat): Answer {
    return { status: code, body: encodeStatus(rpcCode, message, format), format }
  }

  return {
    port: () => (server?.address() as AddressInfo | null)?.port ?? options.port,
    async start() {
      server = createServer({ keepAliveTimeout: 65_000 }, (request, response) => {
        const started = performance.now()
        handle(request)
          .catch((error: unknown): Answer & { accepted?: number; rejected?: number } => {
            logger.error('export failed unexpectedly', { error })
            return status(
              500,
              RpcCode.internal,
              'internal error',
              formatOf(request.headers['content-type']) ?? 'json',
            )
          })
          .then((answer) => {
            respond(request, response, answer)
            options.onExport?.({
              status: answer.status,
              accepted: answer.accepted ?? 0,
              rejected: answer.rejected ?? 0,
              durationMs: performance.now() - started,
            })
          })
      })
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject)
        server!.listen(options.port, options.host, () => resolve())
      })
      logger.info('OTLP/HTTP receiver listening', { host: options.host, port: this.port() })
    },
    async shutdown() {
      if (!server) return
      const closing = new Promise<void>((resolve) => server!.close(() => resolve()))
      server.closeIdleConnections()
      await closing
      server = undefined
    },
  }
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
