import type { AttributeValue } from '../span-model.ts'

/**
 * The dataset domain: datasets, their versions, and the rows (items) people review.
 * Plain data; storage and HTTP translate to and from these shapes.
 */

/** The two kinds of dataset. Closed set. */
export const DatasetKind = { eval: 'eval', training: 'training' } as const
export type DatasetKind = (typeof DatasetKind)[keyof typeof DatasetKind]

/** A version is a draft (open to changes) or published (frozen). */
export const VersionStatus = { draft: 'draft', published: 'published' } as const
export type VersionStatus = (typeof VersionStatus)[keyof typeof VersionStatus]

/** `empty` on arrival, `filled` once a reviewer has annotated the row. */
export const AnnotationStatus = { empty: 'empty', filled: 'filled' } as const
export type AnnotationStatus = (typeof AnnotationStatus)[keyof typeof AnnotationStatus]

/** Review priority labels. */
export const Priority = { high: 'high', medium: 'medium', low: 'low' } as const
export type Priority = (typeof Priority)[keyof typeof Priority]

/** How a row got into its dataset. */
export const SourceKind = { api: 'api', rule: 'rule', addTrace: 'add_trace' } as const
export type SourceKind = (typeof SourceKind)[keyof typeof SourceKind]

/** The buckets a row's values live in. Only `inputs` and `expected_outputs` are columns (see columns.ts). */
export const MappingBucket = {
  inputs: 'inputs',
  expectedOutputs: 'expected_outputs',
  metadata: 'metadata',
  extras: 'extras',
} as const
export type MappingBucket = (typeof MappingBucket)[keyof typeof MappingBucket]

/** A media reference kept instead of the bytes: an image or a PDF by URL, path or data URI. */
export interface MediaReference {
  type: 'image' | 'pdf'
  ref: string
}

/**
 * One cell of a row: JSON. Text stays text; numbers and booleans stay themselves; images
 * and PDFs become references; structures (message lists, objects, arrays) stay structures,
 * stored and returned as JSON values, never as JSON text in a string.
 */
export type DatasetValue = Exclude<AttributeValue, null> | MediaReference

/** One bucket of a row: field key → value. A field whose path resolved to nothing is absent. */
export type RowBucket = Record<string, DatasetValue>

/** A row's data, as the mapping produced it. */
export interface MappedRow {
  inputs: RowBucket
  expected_outputs: RowBucket
  metadata: RowBucket
  extras: RowBucket
}

/** A dataset column: a field key in one of the column buckets. */
export interface DatasetColumn {
  name: string
  bucket: 'inputs' | 'expected_outputs'
}

export interface Dataset {
  id: string
  /** The positive integer the PromptLayer-shaped route takes as `dataset_group_id`. */
  groupId: number
  applicationId: string
  name: string
  kind: DatasetKind
  /** For a training dataset: the eval dataset whose rows it must never hold. */
  excludeDatasetId: string | null
  columns: DatasetColumn[]
  /**
   * The feedback categories reviewers pick from, shared by all of them; a row's
   * feedback_category must be one of them. Empty: any category.
   */
  feedbackCategories: string[]
  createdAt: string
}

export interface DatasetVersion {
  datasetId: string
  /** Globally unique positive integer (the `draft_dataset_id` of add-trace). */
  versionId: number
  /** 1, 2, 3 … within the dataset. */
  number: number
  status: VersionStatus
  createdAt: string
  publishedAt: string | null
}

/** Where a row came from. */
export interface ItemSource {
  applicationId: string
  traceId: string
  spanId: string
  /** Unix nanoseconds of the source span's start. */
  spanStartUnixNano: bigint
  kind: SourceKind
  /** The rule that appended it, for rule appends. */
  ruleId: string | null
}

/** The reviewer-owned columns of a row. */
export interface Annotations {
  annotation: string | null
  annotationStatus: AnnotationStatus
  feedbackCategory: string | null
  expectedOutput: string | null
  priority: Priority | null
  labels: string[]
}

export interface DatasetItem extends MappedRow, Annotations {
  datasetId: string
  versionId: number
  itemId: string
  source: ItemSource
  /** Hash of the inputs, '' when there are none (see inputs-hash.ts). */
  inputsHash: string
  /** The fields a rule's redaction changed before the row was stored (`inputs.question`, …). */
  redactedFields: string[]
  createdAt: string
  updatedAt: string
}
