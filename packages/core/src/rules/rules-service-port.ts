import type { MappedRow } from '../datasets/dataset-model.ts'
import type { DatasetMapping } from '../datasets/mapping.ts'
import type { NanoTimeRange } from '../time-range.ts'
import type { Predicate } from './predicate.ts'

/** Where a rule stands: appending, switched off in its file, or unable to run (`error` says why). */
export type RuleState = 'active' | 'disabled' | 'error'

/** The last load of the rules directory. */
export interface RuleSetStatus {
  dir: string
  /** True when the last attempt loaded cleanly; otherwise the previous good set is still in force. */
  ok: boolean
  /** `file:line:column: yaml.path: what is wrong`, one per problem. */
  errors: string[]
  files: string[]
  /** When the rules in force were loaded (RFC 3339), null before the first good load. */
  loadedAt: string | null
  lastAttemptAt: string | null
}

/** A rule as the API shows it: its definition's essentials, its state, and its counts. */
export interface RuleView {
  id: string
  description: string
  /** The resolved ids; '' while the rule's names do not resolve (its state is then error). */
  applicationId: string
  datasetId: string
  /** The application and dataset as the rule file names them (a name or an id). */
  target: { application: string; dataset: string }
  enabled: boolean
  state: RuleState
  error: string | null
  file: string
  line: number
  sample: number
  includeErrors: boolean
  /** Spans this process matched since it started. */
  matched: number
  /** Rows this process appended since it started. */
  appended: number
  droppedForCap: number
  /** Rows of the rule in storage, whichever process appended them. */
  storedRows: number
  /** What to look at: mapping fields that resolved to nothing in every row this process matched. */
  warnings: string[]
}

export interface RulesListing {
  rules: RuleView[]
  reload: RuleSetStatus
}

/** A dry run: what a rule would take from stored spans, without writing. */
export interface RuleTestResult {
  ruleId: string
  matched: number
  partitions: number
  samples: Array<{ traceId: string; spanId: string; row: MappedRow; redactedFields: string[] }>
}

/** A backfill's progress (resumable: the same rule and range is the same backfill id). */
export interface BackfillJob {
  backfillId: string
  /** The rule replayed; for a promotion of search results, `search-…` (no rule of the registry). */
  ruleId: string
  applicationId: string
  datasetId: string
  state: 'running' | 'done' | 'failed'
  fromUnixNano: bigint
  toUnixNano: bigint
  startedAt: string
  finishedAt: string | null
  partitionsTotal: number
  partitionsDone: number
  currentPartition: number | null
  /** Spans read, and to read in all, by this run (a progress bar's numerator and denominator). */
  progressDone: number
  progressTotal: number
  scanned: number
  matched: number
  added: number
  alreadyPresent: number
  droppedForCap: number
  datasetFull: boolean
  error: string | null
}

/** "Add all spans matching a search to a dataset": a backfill of an ad-hoc predicate and mapping. */
export interface SearchPromotion {
  applicationId: string
  datasetId: string
  /** Absent: every span of the application in the range. */
  predicate: Predicate | undefined
  mapping: DatasetMapping
  range: NanoTimeRange
}

/** What the API offers about rules; the rules service implements it over the registry and storage. */
export interface RulesService {
  listing(): Promise<RulesListing>
  /** The application a rule belongs to, undefined when there is no such rule (access checks). */
  applicationOf(ruleId: string): string | undefined
  test(ruleId: string, range: NanoTimeRange, sampleSize: number): Promise<RuleTestResult>
  /** Starts (or resumes, or returns the running) backfill of a rule over a range. */
  startBackfill(ruleId: string, range: NanoTimeRange): Promise<BackfillJob>
  backfill(backfillId: string): BackfillJob | undefined
  /** Starts (or resumes, or returns the running) backfill of search results into a dataset, through the same engine. */
  startSearchPromotion(promotion: SearchPromotion): Promise<BackfillJob>
}
