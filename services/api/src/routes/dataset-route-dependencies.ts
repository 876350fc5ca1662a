import type { ApplicationsRepository } from '@spansift/clickhouse/applications-repository'
import type { DatasetExporter } from '@spansift/clickhouse/dataset-export'
import type { DatasetItemsRepository } from '@spansift/clickhouse/dataset-items-repository'
import type { DatasetVersionsRepository } from '@spansift/clickhouse/dataset-versions-repository'
import type { DatasetsRepository } from '@spansift/clickhouse/datasets-repository'
import type { SpansRepository } from '@spansift/clickhouse/spans-repository'
import type { DatasetWriter } from '@spansift/core/datasets/dataset-writer-port'

/** What the dataset routes need: reads straight from the repositories, every write through the dataset writer. */
export interface DatasetRouteDependencies {
  applications: ApplicationsRepository
  datasets: DatasetsRepository
  datasetVersions: DatasetVersionsRepository
  datasetItems: DatasetItemsRepository
  datasetExporter: DatasetExporter
  spans: SpansRepository
  datasetWriter: DatasetWriter
  /** Bounds add-trace's trace lookup, which has no time range of its own. */
  spanRetentionDays: number
  now?: () => number
}
