import { ErrorCode, SpansiftError } from './error-codes.ts'
import { retry } from './retry.ts'

/**
 * A create that, reading its name back after its insert, found another row of that name
 * (another process's create at the same moment: ClickHouse has no unique constraint)
 * and withdrew its own row. A conflict (409) when it stands.
 */
export class NameRaceLostError extends SpansiftError {
  constructor(message: string) {
    super(ErrorCode.conflict, message)
    this.name = 'NameRaceLostError'
  }
}

/**
 * Runs a create that withdraws when it loses a race for its name, again after a jittered
 * wait while it keeps losing (up to 5 attempts, about 1.5 s at most). Two racers can
 * both withdraw, each having seen the other's row; their waits rarely match, so the
 * first to try again usually finds the name free and the other then finds it taken.
 * Without the retries, two API processes creating one name at once on a busy machine
 * both answered 409 in 20 rounds of 20.
 */
export function retryNameRace<T>(create: () => Promise<T>): Promise<T> {
  return retry(create, {
    retries: 4,
    minDelayMs: 50,
    maxDelayMs: 1_000,
    shouldRetry: (error) => error instanceof NameRaceLostError,
  })
}
