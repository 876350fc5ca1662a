import pRetry from 'p-retry'

/** How `retry` backs off, and when it gives up. */
export interface RetryOptions {
  /** Retries after the first attempt; unlimited by default (a consumer holding a batch never drops it). */
  retries?: number
  /** The first delay; later ones double, each multiplied by a random factor in [1, 2) (jitter), capped at `maxDelayMs`. */
  minDelayMs: number
  /** No delay is longer than this. */
  maxDelayMs: number
  /** False stops retrying and rejects with the error (a permanent failure). Every error is retried by default. */
  shouldRetry?: (error: unknown) => boolean
  /** Called before each wait (logging, metrics). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
  /** Aborting stops the retries (a component shutting down) and rejects with the abort reason. */
  signal?: AbortSignal
}

/**
 * p-retry never retries a TypeError (it takes it for a bug in the operation); here the
 * caller decides by `shouldRetry` alone, so a TypeError travels wrapped through p-retry.
 */
class Carried extends Error {
  readonly thrown: unknown
  constructor(thrown: unknown) {
    super('carried error')
    this.thrown = thrown
  }
}
const unwrap = (error: unknown): unknown => (error instanceof Carried ? error.thrown : error)

/**
 * The one retry helper: capped exponential backoff with jitter, from `p-retry`
 * (sindresorhus, widely used), so no component hand-writes its own loop. Which errors
 * are worth retrying is the caller's call, made by error type in `shouldRetry`.
 */
export async function retry<T>(run: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const shouldRetry = options.shouldRetry ?? (() => true)
  const attempt = async (attemptNumber: number) => {
    try {
      return await run(attemptNumber)
    } catch (error) {
      throw error instanceof TypeError ? new Carried(error) : error
    }
  }
  try {
    return await pRetry(attempt, {
      retries: options.retries ?? Number.POSITIVE_INFINITY,
      factor: 2,
      minTimeout: options.minDelayMs,
      maxTimeout: options.maxDelayMs,
      randomize: true,
      ...(options.signal ? { signal: options.signal } : {}),
      shouldRetry: ({ error }) => shouldRetry(unwrap(error)),
      onFailedAttempt: ({ error, attemptNumber, retriesLeft, retryDelay }) => {
        // Called before shouldRetry: report only the waits that will happen.
        if (retriesLeft > 0 && retryDelay > 0 && shouldRetry(unwrap(error)))
          options.onRetry?.(unwrap(error), attemptNumber, retryDelay)
      },
    })
  } catch (error) {
    throw unwrap(error)
  }
}
