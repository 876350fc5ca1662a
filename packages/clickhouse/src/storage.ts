import type { Logger } from '@spansift/core/logger'
import { type ApiKeysRepository, createApiKeysRepository } from './api-keys-repository.ts'
import { type ApplicationsRepository, createApplicationsRepository } from './applications-repository.ts'
import { createClusterQueryRunner } from './cluster-ddl.ts'
import { type ClickHouseConnectionOptions, openClickHouse } from './connection.ts'
import { type ContentEventsRepository, createContentEventsRepository } from './content-events-repository.ts'
import { createDatasetExporter, type DatasetExporter } from './dataset-export.ts'
import { createDatasetItemsRepository, type DatasetItemsRepository } from './dataset-items-repository.ts'
import {
  createDatasetVersionsRepository,
  type DatasetVersionsRepository,
} from './dataset-versions-repository.ts'
import { createDatasetsRepository, type DatasetsRepository } from './datasets-repository.ts'
import { ensureSpanRetention, migrate } from './migrations.ts'
import { createQueryRunner, type QueryRunner } from './query-runner.ts'
import { createReviewQueueRepository, type ReviewQueueRepository } from './review-queue-repository.ts'
import { createRuleBackfillsRepository, type RuleBackfillsRepository } from './rule-backfills-repository.ts'
import { createRuleScanRepository, type RuleScanRepository } from './rule-scan-repository.ts'
import { createSpanSearchRepository, type SpanSearchRepository } from './span-search-repository.ts'
import { createSpansRepository, type SpansRepository } from './spans-repository.ts'

export interface Storage {
  runner: QueryRunner
  spans: SpansRepository
  /** GenAI content events (OTLP log records) waiting for, or attached to, their spans. */
  contentEvents: ContentEventsRepository
  applications: ApplicationsRepository
  apiKeys: ApiKeysRepository
  datasets: DatasetsRepository
  datasetVersions: DatasetVersionsRepository
  datasetItems: DatasetItemsRepository
  ruleScans: RuleScanRepository
  ruleBackfills: RuleBackfillsRepository
  spanSearch: SpanSearchRepository
  reviewClaims: ReviewQueueRepository
  datasetExporter: DatasetExporter
  embedded: boolean
  /** True when ClickHouse answers a trivial query. */
  ping(): Promise<boolean>
  close(): Promise<void>
}

export interface OpenStorageOptions extends ClickHouseConnectionOptions {
  logger: Logger
  /** Apply pending migrations and the retention setting before returning. */
  migrate: boolean
  spanRetentionDays: number
}

/** Opens ClickHouse (server or embedded), migrates it when asked, and returns the repositories. */
export async function openStorage(options: OpenStorageOptions): Promise<Storage> {
  const connection = await openClickHouse(options)
  const logger = options.logger.child({ component: 'clickhouse' })
  const base = createQueryRunner({
    client: connection.client,
    database: connection.database,
    logger,
    binaryInserter: connection.binaryInserter,
  })
  // Cluster mode: DDL and mutations get their ON CLUSTER forms; queries are unchanged.
  const runner = options.cluster ? createClusterQueryRunner(base, options.cluster) : base
  const schema = { cluster: options.cluster }
  try {
    if (options.migrate) {
      await migrate(runner, logger, schema)
      await ensureSpanRetention(runner, options.spanRetentionDays, logger, schema)
    }
  } catch (error) {
    await connection.close()
    throw error
  }
  return {
    runner,
    spans: createSpansRepository(runner),
    contentEvents: createContentEventsRepository(runner),
    applications: createApplicationsRepository(runner),
    apiKeys: createApiKeysRepository(runner),
    datasets: createDatasetsRepository(runner),
    datasetVersions: createDatasetVersionsRepository(runner),
    datasetItems: createDatasetItemsRepository(runner),
    ruleScans: createRuleScanRepository(runner),
    ruleBackfills: createRuleBackfillsRepository(runner),
    spanSearch: createSpanSearchRepository(runner),
    reviewClaims: createReviewQueueRepository(runner),
    datasetExporter: createDatasetExporter({ client: connection.client, database: connection.database }),
    embedded: connection.embedded,
    async ping() {
      try {
        await runner.select('ping', 'SELECT 1')
        return true
      } catch {
        return false
      }
    },
    close: () => connection.close(),
  }
}
