import type { AppendCandidate } from './append-candidate.ts'
import type { Annotations, Dataset, DatasetItem, DatasetKind, DatasetVersion } from './dataset-model.ts'

/** What creating a dataset takes. */
export interface NewDataset {
  name: string
  applicationId: string
  kind: DatasetKind
  excludeDatasetId: string | null
  /** The feedback categories its rows may take; none (or empty): any. */
  feedbackCategories?: string[]
  /**
   * The id to create it under, chosen by the caller: a create carried as a command may be
   * run twice (redelivered, or by two owners during a rebalance), and with the same id the
   * second run is the same dataset, not a rival with the same name.
   */
  id?: string
}

/** One candidate's outcome: in the dataset (added now, or already there) under `itemId`. */
export interface AppendedItem {
  traceId: string
  spanId: string
  itemId: string
  added: boolean
}

export interface AppendResult {
  datasetId: string
  /** The version the rows are in (the draft when anything was added). */
  versionId: number | undefined
  items: AppendedItem[]
  /** Candidates left out because they overlap the excluded eval dataset. */
  excluded: Array<{ traceId: string; spanId: string }>
  warnings: string[]
  /** Rows removed from training datasets that exclude this eval dataset (they now overlap it). */
  purgedFromTraining: number
  /** With `upToCap`: new rows left out because the dataset reached its cap (they are not in `items`). */
  droppedForCap: number
}

export interface AppendOptions {
  /** Answer with a draft version even when every row was already there (add-trace names its draft). */
  ensureDraft?: boolean
  /**
   * Fill the dataset up to its cap and leave the rest out (counted in `droppedForCap`)
   * instead of refusing the whole append: for rules and backfills, which stream rows in
   * and have nobody to answer an error to. API appends stay all or nothing.
   */
  upToCap?: boolean
  /**
   * Aborted when the caller may no longer write to the dataset (its owner lost the
   * dataset's partition): the writer starts no further write and rejects with the abort
   * reason. Local only: an owner reached by command never sees it.
   */
  signal?: AbortSignal
}

/** The dataset properties a PATCH of the dataset may change (only its feedback categories, for now). */
export interface DatasetPatch {
  feedbackCategories?: string[]
}

/** The reviewer-owned fields a PATCH may change. */
export type AnnotationPatch = Partial<Annotations>

/**
 * The port every writer of dataset rows and versions goes through (API routes, rule
 * appenders, backfills): the local implementation serializes changes per dataset so caps,
 * leakage and versions hold without transactions; the routed one (dataset-command.ts)
 * sends each change to the process that owns the dataset.
 */
export interface DatasetWriter {
  create(dataset: NewDataset): Promise<Dataset>
  /**
   * Appends candidates to a dataset's draft: leakage guard (training), columns
   * compatibility or bootstrap, exact cap, idempotent by item id. All or nothing unless
   * `upToCap`.
   */
  append(
    datasetId: string,
    candidates: readonly AppendCandidate[],
    options?: AppendOptions,
  ): Promise<AppendResult>
  /** Changes the dataset's own properties (not its rows); answers the dataset as it now is. */
  patchDataset(datasetId: string, patch: DatasetPatch): Promise<Dataset>
  /** Changes a row's annotations; a feedback category outside the dataset's non-empty list is refused. */
  patchItem(datasetId: string, itemId: string, patch: AnnotationPatch): Promise<DatasetItem>
  deleteItem(datasetId: string, itemId: string): Promise<void>
  /** Freezes the draft as a published version. */
  publish(datasetId: string): Promise<DatasetVersion>
  deleteDataset(datasetId: string): Promise<void>
}
