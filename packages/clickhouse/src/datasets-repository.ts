import type { Dataset, DatasetColumn, DatasetKind } from '@spansift/core/datasets/dataset-model'
import type { ListCursor } from '@spansift/core/list-cursor'
import { clickhouseTimeToRfc3339, rfc3339ToClickhouseTime } from './dataset-time.ts'
import type { QueryRunner } from './query-runner.ts'
import { tableNames } from './tables.ts'

export interface DatasetsRepository {
  /** Writes the dataset's current state as a new row version (`updatedAt`: RFC 3339, microseconds). */
  save(dataset: Dataset, updatedAt: string): Promise<void>
  /** Marks the dataset deleted (a new row version that FINAL reads hide). */
  markDeleted(dataset: Dataset, updatedAt: string): Promise<void>
  get(id: string): Promise<Dataset | undefined>
  getByGroupId(groupId: number): Promise<Dataset | undefined>
  /** The application's dataset of this name (names are unique within an application; the oldest if a race made two). */
  findByName(applicationId: string, name: string): Promise<Dataset | undefined>
  /** Datasets of one application, or of all when undefined; oldest first. */
  list(applicationId: string | undefined): Promise<Dataset[]>
  /**
   * A page of `list`: up to `limit` datasets after `after` (created_at, id), optionally
   * only those of one name. The page is read with a bounded query, never the whole table.
   */
  listPage(filter: DatasetListFilter, after: ListCursor | undefined, limit: number): Promise<Dataset[]>
  /** The training datasets that exclude `evalDatasetId`. */
  listExcluding(evalDatasetId: string): Promise<Dataset[]>
}

/** Which datasets a page lists: of one application (all when undefined), of one name. */
export interface DatasetListFilter {
  applicationId: string | undefined
  name: string | undefined
}

interface Row {
  id: string
  group_id: string
  application_id: string
  name: string
  kind: string
  exclude_dataset_id: string | null
  columns: string
  feedback_categories: string[]
  created_at: string
}

const COLUMNS =
  'id, group_id, application_id, name, kind, exclude_dataset_id, columns, feedback_categories, created_at'

function toDataset(row: Row): Dataset {
  return {
    id: row.id,
    groupId: Number(row.group_id),
    applicationId: row.application_id,
    name: row.name,
    kind: row.kind as DatasetKind,
    excludeDatasetId: row.exclude_dataset_id,
    columns: JSON.parse(row.columns) as DatasetColumn[],
    feedbackCategories: row.feedback_categories,
    createdAt: clickhouseTimeToRfc3339(row.created_at),
  }
}

/** The `datasets` table: one row version per change; reads take the latest (FINAL). */
export function createDatasetsRepository(runner: QueryRunner): DatasetsRepository {
  const { datasets } = tableNames(runner.database)
  const write = (dataset: Dataset, updatedAt: string, isDeleted: 0 | 1) =>
    runner.insert('datasets.save', datasets, [
      {
        id: dataset.id,
        group_id: dataset.groupId,
        application_id: dataset.applicationId,
        name: dataset.name,
        kind: dataset.kind,
        exclude_dataset_id: dataset.excludeDatasetId,
        columns: JSON.stringify(dataset.columns),
        feedback_categories: dataset.feedbackCategories,
        created_at: rfc3339ToClickhouseTime(dataset.createdAt),
        updated_at: rfc3339ToClickhouseTime(updatedAt),
        is_deleted: isDeleted,
      },
    ])
  const select = async (tag: string, where: string, params: Record<string, unknown>, limit = '') => {
    const rows = await runner.select<Row>(
      tag,
      `SELECT ${COLUMNS} FROM ${datasets} FINAL WHERE ${where} ORDER BY created_at, id${limit}`,
      params,
    )
    return rows.map(toDataset)
  }
  return {
    save: (dataset, updatedAt) => write(dataset, updatedAt, 0),
    markDeleted: (dataset, updatedAt) => write(dataset, updatedAt, 1),
    get: async (id) => (await select('datasets.get', 'id = {id:UUID}', { id }))[0],
    getByGroupId: async (groupId) =>
      (await select('datasets.get-by-group', 'group_id = {group_id:UInt64}', { group_id: groupId }))[0],
    findByName: async (applicationId, name) =>
      (
        await select(
          'datasets.find-by-name',
          'application_id = {application_id:UUID} AND name = {name:String}',
          {
            application_id: applicationId,
            name,
          },
        )
      )[0],
    list: (applicationId) =>
      applicationId === undefined
        ? select('datasets.list', '1', {})
        : select('datasets.list', 'application_id = {application_id:UUID}', {
            application_id: applicationId,
          }),
    listPage: (filter, after, limit) => {
      const where = ['1']
      const params: Record<string, unknown> = { limit }
      if (filter.applicationId !== undefined) {
        where.push('application_id = {application_id:UUID}')
        params.application_id = filter.applicationId
      }
      if (filter.name !== undefined) {
        where.push('name = {name:String}')
        params.name = filter.name
      }
      if (after) {
        where.push("(created_at, id) > (fromUnixTimestamp64Milli({after_ms:Int64}, 'UTC'), {after_id:UUID})")
        params.after_ms = after.createdAtMs
        params.after_id = after.id
      }
      return select('datasets.list-page', where.join(' AND '), params, ' LIMIT {limit:UInt32}')
    },
    listExcluding: (evalDatasetId) =>
      select('datasets.list-excluding', "exclude_dataset_id = {id:UUID} AND kind = 'training'", {
        id: evalDatasetId,
      }),
  }
}
