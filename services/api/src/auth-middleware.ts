import { extractApiKey } from '@spansift/core/api-key'
import type { Authenticator, Principal } from '@spansift/core/authenticator'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { createMiddleware } from 'hono/factory'

export type ApiEnv = { Variables: { principal: Principal } }

/** Resolves the request's key to a principal; no key or an unknown key is 401. */
export function authenticate(authenticator: Authenticator) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    const key = extractApiKey({
      authorization: c.req.header('authorization'),
      apiKey: c.req.header('x-api-key'),
    })
    const principal = await authenticator.authenticate(key)
    if (!principal) {
      throw new SpansiftError(
        ErrorCode.unauthenticated,
        key ? 'the API key is not valid' : 'an API key is required',
      )
    }
    c.set('principal', principal)
    await next()
  })
}

/** Refuses anything but the admin key (403). */
export function requireAdmin(principal: Principal): void {
  if (principal.kind !== 'admin') throw new SpansiftError(ErrorCode.forbidden, 'this needs the admin key')
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
