import { hashApiKey, secretsEqual } from './api-key.ts'

/** Who a request's key says it is. */
export type Principal = { kind: 'admin' } | { kind: 'application'; applicationId: string }

export interface AuthenticatorOptions {
  /** The configured admin key, if any. */
  adminKey?: string | undefined
  /** Finds the application a key hash belongs to (the `api_keys` table). */
  findApplicationId(keyHash: string): Promise<string | undefined>
  /** How long a lookup is remembered; keys are looked up on every export, so they are cached. */
  cacheTtlMs?: number
  /** Entries kept at most; the oldest go first. */
  cacheSize?: number
  now?: () => number
}

export interface Authenticator {
  /** The principal of a key, or undefined for an unknown key. */
  authenticate(key: string | undefined): Promise<Principal | undefined>
}

/**
 * Resolves API keys to principals. Lookups (including misses, so a flood of wrong keys
 * does not reach ClickHouse) are cached briefly by key hash. When a lookup fails (the
 * storage is unreachable) an expired entry is still used, so a ClickHouse outage does
 * not turn away exporters whose keys were seen recently; without one the error goes up
 * and the caller answers retryable.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const ttl = options.cacheTtlMs ?? 30_000
  const maxEntries = options.cacheSize ?? 10_000
  const now = options.now ?? Date.now
  const cache = new Map<string, { principal: Principal | undefined; expires: number }>()
  const pending = new Map<string, Promise<Principal | undefined>>()

  return {
    async authenticate(key) {
      if (!key) return undefined
      if (options.adminKey && secretsEqual(key, options.adminKey)) return { kind: 'admin' }
      const keyHash = hashApiKey(key)
      const cached = cache.get(keyHash)
      if (cached && cached.expires > now()) return cached.principal
      const inFlight = pending.get(keyHash)
      if (inFlight) return inFlight
      const lookup = options
        .findApplicationId(keyHash)
        .then((applicationId): Principal | undefined =>
          applicationId ? { kind: 'application', applicationId } : undefined,
        )
        .catch((error: unknown) => {
          if (cached) return cached.principal
          throw error
        })
        .then((principal) => {
          if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string)
          cache.set(keyHash, { principal, expires: now() + ttl })
          return principal
        })
        .finally(() => pending.delete(keyHash))
      pending.set(keyHash, lookup)
      return lookup
    },
  }
}
