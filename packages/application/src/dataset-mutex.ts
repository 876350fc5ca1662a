/** Runs tasks one at a time per key; tasks of different keys run concurrently. */
export interface KeyedMutex {
  run<T>(key: string, task: () => Promise<T>): Promise<T>
  /** Keys with a task running or queued (for tests and metrics). */
  size(): number
}

/**
 * An in-process async mutex per key: each task chains on the previous one of its key,
 * and the key is forgotten when its queue drains, so memory follows the live keys.
 */
export function createKeyedMutex(): KeyedMutex {
  const tails = new Map<string, Promise<unknown>>()
  return {
    run(key, task) {
      const previous = tails.get(key) ?? Promise.resolve()
      const result = previous.then(task, task)
      const tail = result.then(
        () => undefined,
        () => undefined,
      )
      tails.set(key, tail)
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key)
      })
      return result
    },
    size: () => tails.size,
  }
}
