import type { Logger } from '@spansift/core/logger'

/** Keys whose last use is remembered between flushes at most; past it, new keys wait for the next flush. */
const MAX_PENDING_KEYS = 100_000

export interface KeyUsageTrackerOptions {
  /** Writes the keys' last use (ApiKeysRepository.recordUse). */
  write(uses: readonly { keyId: string; at: string }[]): Promise<void>
  /** How often the remembered uses are written. */
  flushIntervalMs: number
  logger: Logger
  /** Wall clock (ms since the epoch). */
  now?: () => number
}

export interface KeyUsageTracker {
  /** Remembers that `keyId` was used now. In memory only: cheap enough for every request. */
  record(keyId: string): void
  /** Writes what was remembered since the last flush (one insert, whatever the number of requests). */
  flush(): Promise<void>
  /** Stops the timer and writes what is left, within `deadlineMs`. */
  close(deadlineMs?: number): Promise<void>
}

/**
 * Tracks when each application key was last used without a write per request: uses
 * are kept in memory (one entry per key, the latest time) and written at most every
 * `flushIntervalMs`, as one insert. A failed write keeps the entries for the next flush
 * (the latest time wins); last use is advisory, so a process that dies loses at most one
 * interval of it.
 */
export function createKeyUsageTracker(options: KeyUsageTrackerOptions): KeyUsageTracker {
  const now = options.now ?? Date.now
  let pending = new Map<string, number>()
  let flushing: Promise<void> | undefined

  async function writePending(): Promise<void> {
    if (pending.size === 0) return
    const batch = pending
    pending = new Map()
    try {
      await options.write([...batch].map(([keyId, at]) => ({ keyId, at: new Date(at).toISOString() })))
    } catch (error) {
      options.logger.warn('could not record the last use of API keys; kept for the next flush', { error })
      for (const [keyId, at] of batch) {
        if (pending.size >= MAX_PENDING_KEYS) break
        if ((pending.get(keyId) ?? 0) < at) pending.set(keyId, at)
      }
    }
  }

  const flush = (): Promise<void> => {
    // One flush at a time: a slow write is never overlapped by the next tick's.
    flushing ??= writePending().finally(() => {
      flushing = undefined
    })
    return flushing
  }

  const timer = setInterval(() => void flush(), options.flushIntervalMs)
  timer.unref()

  return {
    record(keyId) {
      if (pending.size >= MAX_PENDING_KEYS && !pending.has(keyId)) return
      pending.set(keyId, now())
    },
    flush,
    async close(deadlineMs = 5_000) {
      clearInterval(timer)
      let timeout: NodeJS.Timeout | undefined
      await Promise.race([
        flush().then(() => flush()),
        new Promise<void>((resolve) => {
          timeout = setTimeout(resolve, deadlineMs)
        }),
      ])
      clearTimeout(timeout)
    },
  }
}
