import { formatRfc3339Millis, formatRfc3339Nano } from '../time.ts'
import type { Dataset, DatasetColumn, DatasetItem, DatasetVersion, RowBucket } from './dataset-model.ts'

/** A version as the API shows it. */
export interface DatasetVersionJson {
  id: number
  number: number
  status: 'draft' | 'published'
  row_count: number
  created_at: string
  published_at: string | null
}

/** A dataset as the API shows it (CONTRACT.md). */
export interface DatasetJson {
  id: string
  group_id: number
  name: string
  application_id: string
  kind: 'eval' | 'training'
  exclude_dataset_id: string | null
  row_count: number
  columns: DatasetColumn[]
  /** The categories a row's feedback_category must be one of; empty: any. */
  feedback_categories: string[]
  versions: DatasetVersionJson[]
  created_at: string
}

/** The API view of a dataset; `rowCounts` by version id, `rowCount` of its current version. */
export function datasetToJson(
  dataset: Dataset,
  versions: readonly DatasetVersion[],
  rowCounts: ReadonlyMap<number, number>,
): DatasetJson {
  const current = currentVersion(versions)
  return {
    id: dataset.id,
    group_id: dataset.groupId,
    name: dataset.name,
    application_id: dataset.applicationId,
    kind: dataset.kind,
    exclude_dataset_id: dataset.excludeDatasetId,
    row_count: current ? (rowCounts.get(current.versionId) ?? 0) : 0,
    columns: dataset.columns,
    feedback_categories: dataset.feedbackCategories,
    versions: versions.map((v) => ({
      id: v.versionId,
      number: v.number,
      status: v.status,
      row_count: rowCounts.get(v.versionId) ?? 0,
      created_at: formatRfc3339Millis(v.createdAt),
      published_at: formatRfc3339Millis(v.publishedAt),
    })),
    created_at: formatRfc3339Millis(dataset.createdAt),
  }
}

/**
 * The version reads and appends work on: the draft when there is one, else the latest
 * published version. Undefined only for a dataset that has never had a version.
 */
export function currentVersion(versions: readonly DatasetVersion[]): DatasetVersion | undefined {
  const draft = versions.find((v) => v.status === 'draft')
  if (draft) return draft
  return latestPublished(versions)
}

/** The highest-numbered published version. */
export function latestPublished(versions: readonly DatasetVersion[]): DatasetVersion | undefined {
  let latest: DatasetVersion | undefined
  for (const v of versions) if (v.status === 'published' && (!latest || v.number > latest.number)) latest = v
  return latest
}

/** An item as the API shows it (CONTRACT.md). */
export interface DatasetItemJson {
  item_id: string
  version_id: number
  inputs: RowBucket
  expected_outputs: RowBucket
  metadata: RowBucket
  extras: RowBucket
  source: {
    kind: string
    application_id: string
    trace_id: string
    span_id: string
    span_start_time: string
    rule_id?: string
  }
  annotation: string | null
  annotation_status: 'empty' | 'filled'
  feedback_category: string | null
  expected_output: string | null
  priority: 'high' | 'medium' | 'low' | null
  labels: string[]
  /** Fields a rule's redaction changed before the row was stored. */
  redacted_fields: string[]
  created_at: string
  updated_at: string
}

/** The API view of an item. */
export function itemToJson(item: DatasetItem): DatasetItemJson {
  return {
    item_id: item.itemId,
    version_id: item.versionId,
    inputs: item.inputs,
    expected_outputs: item.expected_outputs,
    metadata: item.metadata,
    extras: item.extras,
    source: {
      kind: item.source.kind,
      application_id: item.source.applicationId,
      trace_id: item.source.traceId,
      span_id: item.source.spanId,
      span_start_time: formatRfc3339Nano(item.source.spanStartUnixNano),
      ...(item.source.ruleId ? { rule_id: item.source.ruleId } : {}),
    },
    annotation: item.annotation,
    annotation_status: item.annotationStatus,
    feedback_category: item.feedbackCategory,
    expected_output: item.expectedOutput,
    priority: item.priority,
    labels: item.labels,
    redacted_fields: item.redactedFields,
    created_at: formatRfc3339Millis(item.createdAt),
    updated_at: formatRfc3339Millis(item.updatedAt),
  }
}
