import type { ListCursor } from '@spansift/core/list-cursor'
import { clickhouseTimeToRfc3339 } from './dataset-time.ts'
import type { QueryRunner } from './query-runner.ts'
import { tableNames } from './tables.ts'

export interface Application {
  id: string
  name: string
  createdAt: string
}

export interface ApplicationsRepository {
  create(application: { id: string; name: string }): Promise<void>
  get(id: string): Promise<Application | undefined>
  /** The application of this name; if two share it (a race between processes), the oldest. */
  getByName(name: string): Promise<Application | undefined>
  /** Every application of this name, oldest first (more than one only while creates race). */
  listByName(name: string): Promise<Application[]>
  /** Removes an application row: a create that lost a race for its name withdraws its own. */
  remove(id: string): Promise<void>
  list(): Promise<Application[]>
  /** Up to `limit` applications after `after` (created_at, id), oldest first: a bounded query. */
  listPage(after: ListCursor | undefined, limit: number): Promise<Application[]>
}

export function createApplicationsRepository(runner: QueryRunner): ApplicationsRepository {
  const { applications } = tableNames(runner.database)
  type Row = { id: string; name: string; created_at: string }
  const toApplication = (row: Row): Application => ({
    id: row.id,
    name: row.name,
    createdAt: clickhouseTimeToRfc3339(row.created_at),
  })
  const listByName = async (name: string) => {
    const rows = await runner.select<Row>(
      'applications.list-by-name',
      `SELECT id, name, created_at FROM ${applications} FINAL WHERE name = {name:String} ORDER BY created_at, id`,
      { name },
    )
    return rows.map(toApplication)
  }
  return {
    create: (application) => runner.insert('applications.create', applications, [application]),
    async get(id) {
      const rows = await runner.select<Row>(
        'applications.get',
        `SELECT id, name, created_at FROM ${applications} FINAL WHERE id = {id:UUID}`,
        { id },
      )
      return rows[0] ? toApplication(rows[0]) : undefined
    },
    getByName: async (name) => (await listByName(name))[0],
    listByName,
    remove: (id) =>
      runner.command('applications.remove', `DELETE FROM ${applications} WHERE id = {id:UUID}`, { id }),
    async list() {
      const rows = await runner.select<Row>(
        'applications.list',
        `SELECT id, name, created_at FROM ${applications} FINAL ORDER BY created_at, id`,
      )
      return rows.map(toApplication)
    },
    async listPage(after, limit) {
      const rows = await runner.select<Row>(
        'applications.list-page',
        `SELECT id, name, created_at FROM ${applications} FINAL
         WHERE ${after ? "(created_at, id) > (fromUnixTimestamp64Milli({after_ms:Int64}, 'UTC'), {after_id:UUID})" : '1'}
         ORDER BY created_at, id LIMIT {limit:UInt32}`,
        after ? { after_ms: after.createdAtMs, after_id: after.id, limit } : { limit },
      )
      return rows.map(toApplication)
    },
  }
}
