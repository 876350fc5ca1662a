import { BusUnavailableError } from '@spansift/bus/span-bus'
import type { Authenticator, Principal } from '@spansift/core/authenticator'
import type { Logger } from '@spansift/core/logger'
import type { Span } from '@spansift/core/span-model'
import { decodeRequest, isDecodeError, normalize, type OtlpFormat } from './otlp-codec.ts'

/** What a receiver needs to take an export: who may send, and where accepted spans go. */
export interface IngestDeps {
  authenticator: Authenticator
  /** Takes accepted spans; resolves once they are durable. */
  publish(spans: readonly Span[]): Promise<void>
  logger: Logger
}

/** One export, as any transport hands it over. */
export interface IngestRequest {
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

/** How long an exporter waits before retrying when storage or the key store is down. */
const STORAGE_RETRY_AFTER_SECONDS = 2

/**
 * Takes one OTLP trace export, whatever the transport: authenticate the key (an
 * application key; the admin key cannot export), decode, normalize (spans with bad ids
 * are rejected and counted), publish, and say how it went. Unexpected errors are thrown;
 * the transport answers them as internal errors.
 */
export async function ingestExport(deps: IngestDeps, request: IngestRequest): Promise<IngestOutcome> {
  let principal: Principal | undefined
  try {
    principal = await deps.authenticator.authenticate(request.key)
  } catch (error) {
    // The key store is unreachable: the exporter keeps its spans and retries.
    deps.logger.warn('could not check the API key; answering retryable', { error })
    return {
      kind: 'unavailable',
      message: 'the API key cannot be checked right now; retry later',
      retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS,
    }
  }
  if (!principal) {
    return {
      kind: 'unauthenticated',
      message: request.key ? 'the API key is not valid' : 'an API key is required',
    }
  }
  if (principal.kind !== 'application') {
    return { kind: 'forbidden', message: 'exporting spans needs an application key, not the admin key' }
  }

  const body = await request.body()
  let decoded: ReturnType<typeof decodeRequest>
  try {
    decoded = decodeRequest(request.format, body)
  } catch (error) {
    if (!isDecodeError(error)) throw error
    return {
      kind: 'invalid',
      message: `the ${request.format} body is not a valid ExportTraceServiceRequest: ${error.message}`,
    }
  }
  const { spans, rejectedSpans, rejectionMessage } = normalize(decoded, principal.applicationId)

  try {
    await deps.publish(spans)
  } catch (error) {
    if (error instanceof BusUnavailableError) {
      return {
        kind: error.reason,
        message: error.message,
        retryAfterSeconds: error.retryAfterSeconds,
      }
    }
    // Storage failed: nothing was acknowledged, the exporter keeps the spans and retries.
    deps.logger.warn('export not stored; answering retryable', { spans: spans.length, error })
    return {
      kind: 'unavailable',
      message: 'the spans could not be stored right now; retry later',
      retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS,
    }
  }
  return rejectedSpans > 0
    ? { kind: 'partial', accepted: spans.length, rejected: rejectedSpans, message: rejectionMessage }
    : { kind: 'accepted', accepted: spans.length }
}
