import { UnknownApplicationError } from '@spansift/core/application-stamp'
import { LRUCache } from 'lru-cache'

export interface ApplicationCheckOptions {
  /** True when the application exists (the `applications` table). */
  exists(applicationId: string): Promise<boolean>
  /** How long an existing application is remembered (5 min by default: applications are not deleted). */
  knownTtlMs?: number
  /** How long an unknown one is (10 s by default: it may be created any moment). */
  unknownTtlMs?: number
  /** Entries kept of each kind, at most. */
  maxEntries?: number
}

export interface ApplicationCheck {
  /**
   * Resolves when every item's application exists (spans, content events); rejects with
   * `UnknownApplicationError` naming those that do not.
   */
  assertKnown(items: readonly { applicationId: string }[]): Promise<void>
}

/**
 * Checks that spans from Kafka name an existing application: a Collector stamps the
 * records itself, and nothing else stops it naming an application that is not there.
 * Lookups are cached, known and unknown ids apart, so a stream of unknown ids cannot
 * evict the known ones and costs one query per id per `unknownTtlMs`.
 */
export function createApplicationCheck(options: ApplicationCheckOptions): ApplicationCheck {
  const max = options.maxEntries ?? 10_000
  const known = new LRUCache<string, true>({ max, ttl: options.knownTtlMs ?? 300_000 })
  const unknown = new LRUCache<string, true>({ max, ttl: options.unknownTtlMs ?? 10_000 })

  async function isKnown(applicationId: string): Promise<boolean> {
    if (known.has(applicationId)) return true
    if (unknown.has(applicationId)) return false
    const exists = await options.exists(applicationId)
    if (exists) known.set(applicationId, true)
    else unknown.set(applicationId, true)
    return exists
  }

  return {
    async assertKnown(items) {
      const ids = new Set<string>()
      for (const item of items) ids.add(item.applicationId)
      const missing: string[] = []
      for (const id of ids) if (!(await isKnown(id))) missing.push(id)
      if (missing.length > 0) throw new UnknownApplicationError(missing)
    },
  }
}
