import { LRUCache } from 'lru-cache'
import { hashApiKey, isIssuedApiKeyFormat, secretsEqual } from './api-key.ts'

/** Who a request's key says it is. */
export type Principal = { kind: 'admin' } | { kind: 'application'; applicationId: string }

export interface AuthenticatorOptions {
  /** The configured admin key, if any. */
  adminKey?: string | undefined
  /** Finds the application a key hash belongs to (the `api_keys` table). */
  findApplicationId(keyHash: string): Promise<string | undefined>
  /** How long a known key is trusted before it is looked up again (a revoked key stops working after this). */
  cacheTtlMs?: number
  /** Known keys kept at most; the least recently used go first. */
  cacheSize?: number
  /** How long an unknown key is remembered as unknown (a key just created works after this, at worst). */
  unknownTtlMs?: number
  /** Unknown keys remembered at most: a flood of random keys costs this much memory, never more. */
  unknownCacheSize?: number
  now?: () => number
}

export interface Authenticator {
  /** The principal of a key, or undefined for an unknown key. */
  authenticate(key: string | undefined): Promise<Principal | undefined>
}

/**
 * Resolves API keys to principals, in a way a flood of bad keys cannot turn into
 * queries or evictions: a key without the issued form (`ssk_` + 43 base64url
 * characters) is refused without a lookup; known and unknown keys (by hash) are cached
 * apart, each bounded in size and time, so unknown keys never push known ones out.
 * When a lookup fails (storage unreachable) a known key's expired entry is still used,
 * so a ClickHouse outage does not turn away exporters seen recently; without one the
 * error goes up and the caller answers retryable.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const clock = options.now ?? (() => performance.now())
  const perf = { now: clock }
  // Stale entries stay until evicted: they are the fallback when storage is down.
  const known = new LRUCache<string, Principal>({
    max: options.cacheSize ?? 10_000,
    ttl: options.cacheTtlMs ?? 30_000,
    noDeleteOnStaleGet: true,
    ttlResolution: 0,
    perf,
  })
  const unknown = new LRUCache<string, true>({
    max: options.unknownCacheSize ?? 10_000,
    ttl: options.unknownTtlMs ?? 10_000,
    ttlResolution: 0,
    perf,
  })
  const pending = new Map<string, Promise<Principal | undefined>>()

  function lookup(keyHash: string): Promise<Principal | undefined> {
    const running = options
      .findApplicationId(keyHash)
      .then(
        (applicationId): Principal | undefined => {
          if (!applicationId) {
            known.delete(keyHash)
            unknown.set(keyHash, true)
            return undefined
          }
          const principal: Principal = { kind: 'application', applicationId }
          known.set(keyHash, principal)
          return principal
        },
        (error: unknown) => {
          const stale = known.get(keyHash, { allowStale: true })
          if (stale) return stale
          throw error
        },
      )
      .finally(() => pending.delete(keyHash))
    pending.set(keyHash, running)
    return running
  }

  return {
    async authenticate(key) {
      if (!key) return undefined
      if (options.adminKey && secretsEqual(key, options.adminKey)) return { kind: 'admin' }
      if (!isIssuedApiKeyFormat(key)) return undefined
      const keyHash = hashApiKey(key)
      const fresh = known.get(keyHash)
      if (fresh) return fresh
      if (unknown.has(keyHash)) return undefined
      return pending.get(keyHash) ?? lookup(keyHash)
    },
  }
}
