import type {
  AnnotationStatus,
  DatasetItem,
  Priority,
  RowBucket,
  SourceKind,
} from '@spansift/core/datasets/dataset-model'
import { parseJsonExact } from '@spansift/core/exact-integer'
import { clickhouseTimeToRfc3339, rfc3339ToClickhouseTime } from './dataset-time.ts'
import type { QueryParams, QueryRunner } from './query-runner.ts'
import { tableNames } from './tables.ts'

/** Review-queue filters; all optional and combinable. */
export interface ItemFilters {
  annotationStatus?: AnnotationStatus | undefined
  feedbackCategory?: string | undefined
  priority?: Priority | undefined
  ruleId?: string | undefined
  /** RFC 3339 bounds on when the row was added: [from, to). */
  createdFrom?: string | undefined
  createdTo?: string | undefined
}

/** Keyset position: rows after (createdAt, itemId). */
export interface ItemPosition {
  createdAt: string
  itemId: string
}

export interface DatasetItemsRepository {
  /** Writes item row versions (new rows, patches, or deletions with `deleted`). */
  write(items: readonly DatasetItem[], options?: { deleted?: boolean }): Promise<void>
  get(datasetId: string, versionId: number, itemId: string): Promise<DatasetItem | undefined>
  /** Which of `itemIds` the version already holds. */
  existingIds(datasetId: string, versionId: number, itemIds: readonly string[]): Promise<Set<string>>
  count(datasetId: string, versionId: number): Promise<number>
  /** Row counts of each version of a dataset. */
  countByVersion(datasetId: string): Promise<Map<number, number>>
  /**
   * The rows of a dataset (one version, or every version when `versionId` is undefined)
   * whose source span is one of `refs` or whose inputs hash is one of `inputsHashes`:
   * the leakage check between a training dataset and the eval dataset it excludes.
   */
  findOverlapping(
    datasetId: string,
    versionId: number | undefined,
    refs: ReadonlyArray<{ traceId: string; spanId: string }>,
    inputsHashes: readonly string[],
  ): Promise<DatasetItem[]>
  /** Items of one version matching the filters, in (created_at, item_id) order, after `after`. */
  list(
    datasetId: string,
    versionId: number,
    filters: ItemFilters,
    after: ItemPosition | undefined,
    limit: number,
  ): Promise<DatasetItem[]>
  /** Copies every row of one version into another (seeding a new draft), server-side. */
  copyVersion(datasetId: string, fromVersionId: number, toVersionId: number, updatedAt: string): Promise<void>
  /** Removes every row of a deleted dataset (a lightweight delete). */
  deleteDataset(datasetId: string): Promise<void>
  /** Rows each rule appended that are still in some version of their dataset (distinct items), by rule id. */
  countByRule(ruleIds: readonly string[]): Promise<Map<string, number>>
}

interface Row {
  dataset_id: string
  version_id: string
  item_id: string
  application_id: string
  trace_id: string
  span_id: string
  span_start_ns: string
  source_kind: string
  rule_id: string
  inputs: string
  expected_outputs: string
  metadata: string
  extras: string
  inputs_hash: string
  redacted_fields: string[]
  annotation: string
  annotation_status: string
  feedback_category: string
  expected_output: string
  priority: string
  labels: string[]
  created_at: string
  updated_at: string
}

/** Every column, in table order, for INSERT … SELECT copies. */
const ALL_COLUMNS = `dataset_id, version_id, item_id, application_id, trace_id, span_id, span_start_time, source_kind,
  rule_id, inputs, expected_outputs, metadata, extras, inputs_hash, annotation, annotation_status, feedback_category,
  expected_output, priority, labels, created_at, updated_at, is_deleted, redacted_fields`

const SELECT_COLUMNS = `dataset_id, version_id, item_id, application_id, trace_id, span_id,
  toString(toUnixTimestamp64Nano(span_start_time)) AS span_start_ns, source_kind, rule_id, inputs, expected_outputs,
  metadata, extras, inputs_hash, annotation, annotation_status, feedback_category, expected_output, priority, labels,
  created_at, updated_at, redacted_fields`

const nullIfEmpty = (text: string): string | null => (text === '' ? null : text)

function toItem(row: Row): DatasetItem {
  return {
    datasetId: row.dataset_id,
    versionId: Number(row.version_id),
    itemId: row.item_id,
    source: {
      applicationId: row.application_id,
      traceId: row.trace_id,
      spanId: row.span_id,
      spanStartUnixNano: BigInt(row.span_start_ns),
      kind: row.source_kind as SourceKind,
      ruleId: nullIfEmpty(row.rule_id),
    },
    inputs: parseJsonExact(row.inputs) as RowBucket,
    expected_outputs: parseJsonExact(row.expected_outputs) as RowBucket,
    metadata: parseJsonExact(row.metadata) as RowBucket,
    extras: parseJsonExact(row.extras) as RowBucket,
    inputsHash: row.inputs_hash,
    redactedFields: row.redacted_fields,
    annotation: nullIfEmpty(row.annotation),
    annotationStatus: row.annotation_status as AnnotationStatus,
    feedbackCategory: nullIfEmpty(row.feedback_category),
    expectedOutput: nullIfEmpty(row.expected_output),
    priority: nullIfEmpty(row.priority) as Priority | null,
    labels: row.labels,
    createdAt: clickhouseTimeToRfc3339(row.created_at),
    updatedAt: clickhouseTimeToRfc3339(row.updated_at),
  }
}

function toRow(item: DatasetItem, deleted: boolean) {
  return {
    dataset_id: item.datasetId,
    version_id: item.versionId,
    item_id: item.itemId,
    application_id: item.source.applicationId,
    trace_id: item.source.traceId,
    span_id: item.source.spanId,
    span_start_time: item.source.spanStartUnixNano.toString(),
    source_kind: item.source.kind,
    rule_id: item.source.ruleId ?? '',
    inputs: JSON.stringify(item.inputs),
    expected_outputs: JSON.stringify(item.expected_outputs),
    metadata: JSON.stringify(item.metadata),
    extras: JSON.stringify(item.extras),
    inputs_hash: item.inputsHash,
    redacted_fields: item.redactedFields,
    annotation: item.annotation ?? '',
    annotation_status: item.annotationStatus,
    feedback_category: item.feedbackCategory ?? '',
    expected_output: item.expectedOutput ?? '',
    priority: item.priority ?? '',
    labels: item.labels,
    created_at: rfc3339ToClickhouseTime(item.createdAt),
    updated_at: rfc3339ToClickhouseTime(item.updatedAt),
    is_deleted: deleted ? 1 : 0,
  }
}

/** The `dataset_items` table. Reads use FINAL: the latest version of each row, deleted ones hidden. */
export function createDatasetItemsRepository(runner: QueryRunner): DatasetItemsRepository {
  const { datasetItems } = tableNames(runner.database)
  const VERSION = 'dataset_id = {dataset_id:UUID} AND version_id = {version_id:UInt64}'
  return {
    write: (items, options) =>
      runner.insert(
        'dataset-items.write',
        datasetItems,
        items.map((item) => toRow(item, options?.deleted ?? false)),
      ),
    async get(datasetId, versionId, itemId) {
      const rows = await runner.select<Row>(
        'dataset-items.get',
        `SELECT ${SELECT_COLUMNS} FROM ${datasetItems} FINAL WHERE ${VERSION} AND item_id = {item_id:UUID}`,
        { dataset_id: datasetId, version_id: versionId, item_id: itemId },
      )
      return rows[0] ? toItem(rows[0]) : undefined
    },
    async existingIds(datasetId, versionId, itemIds) {
      if (itemIds.length === 0) return new Set()
      const rows = await runner.select<{ item_id: string }>(
        'dataset-items.existing',
        `SELECT item_id FROM ${datasetItems} FINAL WHERE ${VERSION} AND item_id IN {item_ids:Array(UUID)}`,
        { dataset_id: datasetId, version_id: versionId, item_ids: itemIds },
      )
      return new Set(rows.map((r) => r.item_id))
    },
    async count(datasetId, versionId) {
      const [row] = await runner.select<{ n: string }>(
        'dataset-items.count',
        `SELECT count() AS n FROM ${datasetItems} FINAL WHERE ${VERSION}`,
        { dataset_id: datasetId, version_id: versionId },
      )
      return Number(row?.n ?? 0)
    },
    async countByVersion(datasetId) {
      const rows = await runner.select<{ version_id: string; n: string }>(
        'dataset-items.count-by-version',
        `SELECT version_id, count() AS n FROM ${datasetItems} FINAL
         WHERE dataset_id = {dataset_id:UUID} GROUP BY version_id`,
        { dataset_id: datasetId },
      )
      return new Map(rows.map((r) => [Number(r.version_id), Number(r.n)]))
    },
    async findOverlapping(datasetId, versionId, refs, inputsHashes) {
      const hashes = inputsHashes.filter((h) => h !== '')
      if (refs.length === 0 && hashes.length === 0) return []
      const rows = await runner.select<Row>(
        'dataset-items.overlapping',
        `SELECT ${SELECT_COLUMNS} FROM ${datasetItems} FINAL
         WHERE dataset_id = {dataset_id:UUID}
           AND ({version_id:Nullable(UInt64)} IS NULL OR version_id = {version_id:Nullable(UInt64)})
           AND ((trace_id, span_id) IN arrayZip({trace_ids:Array(String)}, {span_ids:Array(String)})
                OR (inputs_hash != '' AND inputs_hash IN {hashes:Array(String)}))`,
        {
          dataset_id: datasetId,
          version_id: versionId ?? null,
          trace_ids: refs.map((r) => r.traceId),
          span_ids: refs.map((r) => r.spanId),
          hashes,
        },
      )
      return rows.map(toItem)
    },
    async list(datasetId, versionId, filters, after, limit) {
      const conditions = [VERSION]
      const params: QueryParams = { dataset_id: datasetId, version_id: versionId, limit }
      // Fixed condition texts; only their values vary, and those are parameters.
      const optional: Array<[unknown, string, string]> = [
        [filters.annotationStatus, 'annotation_status = {annotation_status:String}', 'annotation_status'],
        [filters.feedbackCategory, 'feedback_category = {feedback_category:String}', 'feedback_category'],
        [filters.priority, 'priority = {priority:String}', 'priority'],
        [filters.ruleId, 'rule_id = {rule_id:String}', 'rule_id'],
        [
          filters.createdFrom && rfc3339ToClickhouseTime(filters.createdFrom),
          "created_at >= toDateTime64({created_from:String}, 3, 'UTC')",
          'created_from',
        ],
        [
          filters.createdTo && rfc3339ToClickhouseTime(filters.createdTo),
          "created_at < toDateTime64({created_to:String}, 3, 'UTC')",
          'created_to',
        ],
      ]
      for (const [value, condition, name] of optional) {
        if (value === undefined || value === '') continue
        conditions.push(condition)
        params[name] = value
      }
      if (after) {
        conditions.push(
          "(created_at, item_id) > (toDateTime64({after_created:String}, 3, 'UTC'), {after_item:UUID})",
        )
        params.after_created = rfc3339ToClickhouseTime(after.createdAt)
        params.after_item = after.itemId
      }
      const rows = await runner.select<Row>(
        'dataset-items.list',
        `SELECT ${SELECT_COLUMNS} FROM ${datasetItems} FINAL WHERE ${conditions.join(' AND ')}
         ORDER BY created_at, item_id LIMIT {limit:UInt32}`,
        params,
      )
      return rows.map(toItem)
    },
    copyVersion: (datasetId, fromVersionId, toVersionId, updatedAt) =>
      runner.command(
        'dataset-items.copy-version',
        `INSERT INTO ${datasetItems} (${ALL_COLUMNS})
         SELECT dataset_id, {to_version:UInt64}, item_id, application_id, trace_id, span_id, span_start_time,
           source_kind, rule_id, inputs, expected_outputs, metadata, extras, inputs_hash, annotation,
           annotation_status, feedback_category, expected_output, priority, labels, created_at,
           toDateTime64({updated_at:String}, 6, 'UTC'), 0, redacted_fields
         FROM ${datasetItems} FINAL WHERE ${VERSION}`,
        {
          dataset_id: datasetId,
          version_id: fromVersionId,
          to_version: toVersionId,
          updated_at: rfc3339ToClickhouseTime(updatedAt),
        },
      ),
    deleteDataset: (datasetId) =>
      runner.command(
        'dataset-items.delete-dataset',
        `DELETE FROM ${datasetItems} WHERE dataset_id = {dataset_id:UUID}`,
        {
          dataset_id: datasetId,
        },
      ),
    async countByRule(ruleIds) {
      if (ruleIds.length === 0) return new Map()
      const rows = await runner.select<{ rule_id: string; rows: string }>(
        'dataset-items.count-by-rule',
        `SELECT rule_id, toString(uniqExact(dataset_id, item_id)) AS rows FROM ${datasetItems} FINAL
         WHERE source_kind = 'rule' AND rule_id IN {rule_ids:Array(String)}
         GROUP BY rule_id`,
        { rule_ids: [...ruleIds] },
      )
      return new Map(rows.map((r) => [r.rule_id, Number(r.rows)]))
    },
  }
}
