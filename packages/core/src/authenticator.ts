import { LRUCache } from 'lru-cache'
import { hashApiKey, isIssuedApiKeyFormat, secretsEqual } from './api-key.ts'
import type { KeyScope } from './key-scope.ts'

/** Who a request's key says it is. */
export type Principal =
  | { kind: 'admin' }
  | { kind: 'application'; applicationId: string; keyId: string; scope: KeyScope }

/** An application key as stored (the `api_keys` table); times in ms since the epoch. */
export interface StoredKey {
  id: string
  applicationId: string
  scope: KeyScope
  /** The key stops working at this time. */
  expiresAt?: number | undefined
  /** The key stops working at this time (a rotation's grace period puts it in the future). */
  revokedAt?: number | undefined
}

/** Why a key was refused: each answers 401 with its own message. */
export type RefusalReason = 'missing' | 'unknown' | 'revoked' | 'expired'

/** The outcome of authenticating a key. */
export type Authentication =
  | { principal: Principal; refused?: undefined }
  | { principal?: undefined; refused: RefusalReason; message: string }

const REFUSAL_MESSAGES: Record<RefusalReason, string> = {
  missing: 'an API key is required',
  unknown: 'the API key is not valid',
  revoked: 'the API key has been revoked',
  expired: 'the API key has expired',
}

const refusal = (reason: RefusalReason): Authentication => ({
  refused: reason,
  message: REFUSAL_MESSAGES[reason],
})

export interface AuthenticatorOptions {
  /** The configured admin key, if any. */
  adminKey?: string | undefined
  /** Finds the key a hash belongs to (the `api_keys` table), revoked and expired ones included. */
  findKey(keyHash: string): Promise<StoredKey | undefined>
  /**
   * How long a known key is trusted before it is looked up again: a key revoked by
   * another process stops working here after this, at worst. 5 s by default.
   */
  cacheTtlMs?: number
  /** Known keys kept at most; the least recently used go first. */
  cacheSize?: number
  /** How long an unknown or revoked key is remembered as such (a key just created works after this, at worst). */
  unknownTtlMs?: number
  /** Unknown keys remembered at most: a flood of random keys costs this much memory, never more. */
  unknownCacheSize?: number
  /** Told of every accepted application key (the last-used tracker); must not block. */
  recordUse?: (keyId: string) => void
  /** Monotonic clock for the caches' TTLs. */
  now?: () => number
  /** Wall clock (ms since the epoch) that expiries and revocations are compared with. */
  wallClock?: () => number
}

export interface Authenticator {
  /** The principal of a key, or why it is refused. Throws only when the key store cannot be read. */
  authenticate(key: string | undefined): Promise<Authentication>
}

/**
 * Resolves API keys to principals, in a way a flood of bad keys cannot turn into
 * queries or evictions: a key without the issued form (`ssk_` + 43 base64url
 * characters) is refused without a lookup; known and refused keys (by hash) are cached
 * apart, each bounded in size and time, so unknown keys never push known ones out.
 * Known keys are trusted for a short time only (`cacheTtlMs`), so a revocation made
 * by any process reaches every process within seconds; an expiry or a revocation time
 * already known is checked at every request, with no lookup.
 * When a lookup fails (storage unreachable) a known key's expired entry is still used,
 * so a ClickHouse outage does not turn away exporters seen recently; a key seen revoked
 * is never in that cache, so it is never served from it. Without an entry the error
 * goes up and the caller answers retryable.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const clock = options.now ?? (() => performance.now())
  const wallClock = options.wallClock ?? Date.now
  const perf = { now: clock }
  // Stale entries stay until evicted: they are the fallback when storage is down.
  const known = new LRUCache<string, StoredKey>({
    max: options.cacheSize ?? 10_000,
    ttl: options.cacheTtlMs ?? 5_000,
    noDeleteOnStaleGet: true,
    ttlResolution: 0,
    perf,
  })
  const refused = new LRUCache<string, RefusalReason>({
    max: options.unknownCacheSize ?? 10_000,
    ttl: options.unknownTtlMs ?? 10_000,
    ttlResolution: 0,
    perf,
  })
  const pending = new Map<string, Promise<Authentication>>()

  function decide(keyHash: string, stored: StoredKey): Authentication {
    const now = wallClock()
    if (stored.revokedAt !== undefined && stored.revokedAt <= now) {
      known.delete(keyHash)
      refused.set(keyHash, 'revoked')
      return refusal('revoked')
    }
    if (stored.expiresAt !== undefined && stored.expiresAt <= now) return refusal('expired')
    options.recordUse?.(stored.id)
    return {
      principal: {
        kind: 'application',
        applicationId: stored.applicationId,
        keyId: stored.id,
        scope: stored.scope,
      },
    }
  }

  function lookup(keyHash: string): Promise<Authentication> {
    const running = options
      .findKey(keyHash)
      .then(
        (stored): Authentication => {
          if (!stored) {
            known.delete(keyHash)
            refused.set(keyHash, 'unknown')
            return refusal('unknown')
          }
          known.set(keyHash, stored)
          return decide(keyHash, stored)
        },
        (error: unknown) => {
          const stale = known.get(keyHash, { allowStale: true })
          if (!stale) throw error
          // Trusted for another TTL: during an outage a known key costs one failed
          // lookup per TTL, not one per request.
          known.set(keyHash, stale)
          return decide(keyHash, stale)
        },
      )
      .finally(() => pending.delete(keyHash))
    pending.set(keyHash, running)
    return running
  }

  return {
    async authenticate(key) {
      if (!key) return refusal('missing')
      if (options.adminKey && secretsEqual(key, options.adminKey)) return { principal: { kind: 'admin' } }
      if (!isIssuedApiKeyFormat(key)) return refusal('unknown')
      const keyHash = hashApiKey(key)
      const fresh = known.get(keyHash)
      if (fresh) return decide(keyHash, fresh)
      const reason = refused.get(keyHash)
      if (reason) return refusal(reason)
      return pending.get(keyHash) ?? lookup(keyHash)
    },
  }
}
