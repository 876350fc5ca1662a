/**
 * How a storage failure is to be handled, decided where the error is raised (the
 * ClickHouse query runner) by the error's type and the engine's numeric error code, never
 * by its message text. Consumers and writers branch on these classes only.
 */

/** Storage refused the data itself (a value it cannot parse or store): retrying the same data fails the same way. */
export class StorageRejectedError extends Error {
  /** The engine's error code, when it gave one. */
  readonly code: number | undefined
  constructor(message: string, options: { code?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.name = 'StorageRejectedError'
    this.code = options.code
  }
}

/** Storage could not be reached or did not answer: the same request may succeed later. */
export class StorageUnavailableError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.name = 'StorageUnavailableError'
  }
}

/** True when retrying the same operation can never succeed. */
export function isPermanentStorageError(error: unknown): error is StorageRejectedError {
  return error instanceof StorageRejectedError
}
