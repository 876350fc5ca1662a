import type { DatasetVersion, VersionStatus } from '@spansift/core/datasets/dataset-model'
import { clickhouseTimeToRfc3339, rfc3339ToClickhouseTime } from './dataset-time.ts'
import type { QueryRunner } from './query-runner.ts'
import { tableNames } from './tables.ts'

export interface DatasetVersionsRepository {
  /** Writes a version's current state as a new row version. */
  save(version: DatasetVersion, updatedAt: string): Promise<void>
  /** A dataset's versions, by number. */
  list(datasetId: string): Promise<DatasetVersion[]>
}

interface Row {
  dataset_id: string
  version_id: string
  number: number
  status: string
  created_at: string
  published_at: string | null
}

/** The `dataset_versions` table. */
export function createDatasetVersionsRepository(runner: QueryRunner): DatasetVersionsRepository {
  const { datasetVersions } = tableNames(runner.database)
  return {
    save: (version, updatedAt) =>
      runner.insert('dataset-versions.save', datasetVersions, [
        {
          dataset_id: version.datasetId,
          version_id: version.versionId,
          number: version.number,
          status: version.status,
          created_at: rfc3339ToClickhouseTime(version.createdAt),
          published_at: version.publishedAt === null ? null : rfc3339ToClickhouseTime(version.publishedAt),
          updated_at: rfc3339ToClickhouseTime(updatedAt),
          is_deleted: 0,
        },
      ]),
    async list(datasetId) {
      const rows = await runner.select<Row>(
        'dataset-versions.list',
        `SELECT dataset_id, version_id, number, status, created_at, published_at
         FROM ${datasetVersions} FINAL WHERE dataset_id = {dataset_id:UUID} ORDER BY number`,
        { dataset_id: datasetId },
      )
      return rows.map((row) => ({
        datasetId: row.dataset_id,
        versionId: Number(row.version_id),
        number: Number(row.number),
        status: row.status as VersionStatus,
        createdAt: clickhouseTimeToRfc3339(row.created_at),
        publishedAt: row.published_at === null ? null : clickhouseTimeToRfc3339(row.published_at),
      }))
    },
  }
}
