import type { Authentication, Authenticator } from '@spansift/core/authenticator'
import type { Logger } from '@spansift/core/logger'
import type { IngestOutcome } from './ingest-export.ts'

/** How long an exporter waits before retrying when storage or the key store is down. */
export const RETRY_AFTER_SECONDS = 2

/** The outcomes that turn an export away before its body is read. */
export type RefusedExport = Extract<IngestOutcome, { kind: 'unavailable' | 'unauthenticated' | 'forbidden' }>

/** An export's application, or why the export is refused. */
export type ExportAuthorization = { kind: 'authorized'; applicationId: string } | RefusedExport

/**
 * Checks the API key of an export (traces or logs, any transport): only an application
 * key may export, and a key store that cannot be reached is a retryable refusal (the
 * exporter keeps its data). `what` names the data in the refusal ("spans", "logs").
 */
export async function authorizeExport(
  deps: { authenticator: Authenticator; logger: Logger },
  key: string | undefined,
  what: string,
): Promise<ExportAuthorization> {
  let authentication: Authentication
  try {
    authentication = await deps.authenticator.authenticate(key)
  } catch (error) {
    deps.logger.warn('could not check the API key; answering retryable', { error })
    return {
      kind: 'unavailable',
      message: 'the API key cannot be checked right now; retry later',
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    }
  }
  const { principal } = authentication
  // Unknown, revoked and expired keys each say why (OTLP/HTTP 401, gRPC UNAUTHENTICATED).
  if (!principal) return { kind: 'unauthenticated', message: authentication.message }
  if (principal.kind !== 'application') {
    return { kind: 'forbidden', message: `exporting ${what} needs an application key, not the admin key` }
  }
  return { kind: 'authorized', applicationId: principal.applicationId }
}
