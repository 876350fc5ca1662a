export interface StallWatchOptions {
  /** No progress for this long while messages wait is a stall. */
  stallMs: number
  now?: () => number
}

/** Tells a slow consumer from a stuck one: progress is a commit, or having caught up. */
export interface StallWatch {
  /** A batch was committed. */
  progressed(): void
  /** The latest lag sample (messages not yet committed). */
  lag(messages: number): void
  /** True while messages wait and nothing was committed for `stallMs`. */
  stalled(): boolean
}

/**
 * A consumer is stalled when its lag is above zero and it committed nothing for
 * `stallMs`: a batch it retries for ever (storage down) or a poison record. An idle
 * consumer (lag zero) is never stalled however long it commits nothing.
 */
export function createStallWatch(options: StallWatchOptions): StallWatch {
  const now = options.now ?? Date.now
  let lastProgress = now()
  let lagging = false
  return {
    progressed() {
      lastProgress = now()
    },
    lag(messages) {
      lagging = messages > 0
      // Caught up counts as progress: the stall clock starts when messages start waiting.
      if (!lagging) lastProgress = now()
    },
    stalled: () => lagging && now() - lastProgress >= options.stallMs,
  }
}
