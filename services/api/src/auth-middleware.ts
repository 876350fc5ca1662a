import { extractApiKey } from '@spansift/core/api-key'
import type { Authenticator, Principal, RefusalReason } from '@spansift/core/authenticator'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { createMiddleware } from 'hono/factory'

export type ApiEnv = { Variables: { principal: Principal } }

const REFUSAL_CODES: Record<RefusalReason, ErrorCode> = {
  missing: ErrorCode.unauthenticated,
  unknown: ErrorCode.unauthenticated,
  revoked: ErrorCode.keyRevoked,
  expired: ErrorCode.keyExpired,
}

/**
 * Resolves the request's key to a principal: no key, an unknown, a revoked or an
 * expired key is 401 (each with its own code and message); an ingest-scoped key is 403
 * (it may only export spans over OTLP).
 */
export function authenticate(authenticator: Authenticator) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const key = extractApiKey({
      authorization: c.req.header('authorization'),
      apiKey: c.req.header('x-api-key'),
    })
    const result = await authenticator.authenticate(key)
    if (!result.principal) throw new SpansiftError(REFUSAL_CODES[result.refused], result.message)
    if (result.principal.kind === 'application' && result.principal.scope === 'ingest') {
      throw new SpansiftError(
        ErrorCode.forbidden,
        'this key has scope ingest: it may only export spans over OTLP; use a read-write key for the API',
      )
    }
    c.set('principal', result.principal)
    await next()
  })
}

/** Refuses anything but the admin key (403). */
export function requireAdmin(principal: Principal): void {
  if (principal.kind !== 'admin') throw new SpansiftError(ErrorCode.forbidden, 'this needs the admin key')
}

/**
 * Refuses anything but the admin key and an admin-scoped key of `applicationId` (403):
 * managing an application's keys.
 */
export function requireKeyManager(principal: Principal, applicationId: string): void {
  if (principal.kind === 'admin') return
  if (principal.applicationId === applicationId && principal.scope === 'admin') return
  throw new SpansiftError(
    ErrorCode.forbidden,
    "managing keys needs the admin key or an admin-scoped key of the key's application",
  )
}

/**
 * The application a request acts for: an application key's own, or for the admin key
 * the one it names. An application key naming another application is refused.
 */
export function applicationScope(principal: Principal, requested: string | undefined): string {
  if (principal.kind === 'application') {
    if (requested && requested !== principal.applicationId) {
      throw new SpansiftError(ErrorCode.forbidden, 'this key belongs to another application')
    }
    return principal.applicationId
  }
  if (!requested)
    throw new SpansiftError(ErrorCode.invalidArgument, 'application_id is required with the admin key')
  return requested
}
