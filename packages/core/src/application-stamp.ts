import { APPLICATION_ID_ATTRIBUTE } from './span-model.ts'

/** The textual UUID form ClickHouse parses (any version): 8-4-4-4-12 hex digits. */
const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Why a record's application stamp (the `spansift.application.id` resource attribute a
 * Collector sets) cannot name an application, or undefined when it is a UUID. Checked
 * before storage, which would refuse the whole insert over one bad stamp.
 */
export function applicationStampProblem(applicationId: string): string | undefined {
  if (UUID_TEXT.test(applicationId)) return undefined
  return `resource attribute ${APPLICATION_ID_ATTRIBUTE} must be an application id (a UUID), got ${JSON.stringify(applicationId.slice(0, 100))}`
}

/** Spans stamped with an application that does not exist: permanent, the record is dead-lettered. */
export class UnknownApplicationError extends Error {
  readonly applicationIds: readonly string[]
  constructor(applicationIds: readonly string[]) {
    super(
      `resource attribute ${APPLICATION_ID_ATTRIBUTE} names no existing application: ${applicationIds.join(', ')}`,
    )
    this.name = 'UnknownApplicationError'
    this.applicationIds = applicationIds
  }
}
