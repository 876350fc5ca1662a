import { createHash } from 'node:crypto'
import type {
  BackfillPartitionDone,
  RuleBackfillsRepository,
} from '@spansift/clickhouse/rule-backfills-repository'
import type { RuleScanRepository, ScanCondition } from '@spansift/clickhouse/rule-scan-repository'
import type { SpanRef, TimeRange } from '@spansift/clickhouse/spans-repository'
import type { AppendCandidate } from '@spansift/core/datasets/append-candidate'
import type { MappedRow } from '@spansift/core/datasets/dataset-model'
import type { DatasetWriter } from '@spansift/core/datasets/dataset-writer-port'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import type { Logger } from '@spansift/core/logger'
import { type MonthPartition, monthPartitions } from '@spansift/core/rules/month-partitions'
import type { Span } from '@spansift/core/span-model'

/** What replaying a streaming rule over stored spans needs of it. */
export interface BackfillableRule {
  id: string
  applicationId: string
  datasetId: string
  /** SQL pre-filter over the `spans` columns (application, status, sampling and predicate), params by name. */
  condition: { sql: string; params: Record<string, unknown> }
  /** The authoritative JS decision and mapping: the row candidate, or undefined when the span does not qualify. */
  evaluate(span: Span): AppendCandidate | undefined
}

/** A dry run's answer: how much the rule would take, and what its first rows would look like. */
export interface DryRunResult {
  /** Spans the SQL pre-filter matches in the range (each once). */
  matched: number
  /** Month partitions the range covers. */
  partitions: number
  /** The first spans the SQL finds (oldest month first, then key order), as `evaluate` maps them. */
  samples: DryRunSample[]
}

/** A row a rule would append, and the fields redaction changed in it. */
export interface DryRunSample {
  traceId: string
  spanId: string
  row: MappedRow
  redactedFields: string[]
}

/** Spans a dry run examines at most for its samples, so a rule `evaluate` mostly refuses still answers fast. */
const DRY_RUN_MAX_EXAMINED = 1_000

/**
 * What a rule would append over a range, without writing anything: the SQL count of
 * its matches, partition by partition, and a few sample rows.
 */
export async function dryRunRule(options: {
  rule: BackfillableRule
  range: TimeRange
  scans: Pick<RuleScanRepository, 'count' | 'page'>
  sampleSize?: number
}): Promise<DryRunResult> {
  const { rule, range, scans } = options
  const sampleSize = options.sampleSize ?? 5
  if (!Number.isInteger(sampleSize) || sampleSize < 0) throw new Error(`invalid sample size ${sampleSize}`)
  const partitions = partitionsOf(range)
  const condition = scanCondition(rule)
  const counts = await Promise.all(partitions.map((p) => scans.count(condition, p)))
  const samples: DryRunResult['samples'] = []
  const pageSize = Math.max(20, sampleSize * 2)
  let examined = 0
  for (const partition of partitions) {
    let after: SpanRef | undefined
    while (samples.length < sampleSize && examined < DRY_RUN_MAX_EXAMINED) {
      const spans = await scans.page(condition, partition, after, pageSize)
      examined += spans.length
      for (const span of spans) {
        const candidate = rule.evaluate(span)
        if (candidate && samples.length < sampleSize) {
          samples.push({
            traceId: span.traceId,
            spanId: span.spanId,
            row: candidate.row,
            redactedFields: candidate.redactedFields ?? [],
          })
        }
      }
      if (spans.length < pageSize) break
      after = spans.at(-1)
    }
  }
  return { matched: counts.reduce((sum, n) => sum + n, 0), partitions: partitions.length, samples }
}

/** One month partition in a backfill's summary. */
export interface BackfillPartitionSummary {
  /** `YYYYMM`. */
  partition: number
  /** Spans of the application in the partition. */
  scanned: number
  /** Spans the rule took (the SQL pre-filter, then `evaluate`). */
  matched: number
  /** Rows new to the dataset. */
  added: number
  /**
   * Done by an earlier run of the same backfill, so not read again; its counters are
   * those recorded then (the summary's totals count this run only).
   */
  skipped: boolean
}

export interface BackfillSummary {
  backfillId: string
  /** The partitions this run skipped or worked through, oldest first; those after an early stop are absent. */
  partitions: BackfillPartitionSummary[]
  /** This run's totals (skipped partitions are not counted). */
  scanned: number
  matched: number
  added: number
  /** Matches already in the dataset (an earlier run, the streaming rule, an API append). */
  alreadyPresent: number
  /** Matches left out because the dataset reached its cap. */
  droppedForCap: number
  /** Matches left out of a training dataset because they overlap the eval dataset it excludes. */
  excluded: number
  /** The dataset reached its cap: the run stopped in the partition where it happened, which stays not done. */
  datasetFull: boolean
  /** The first partition this run had to do, when an earlier run had done some before it. */
  resumedFrom?: number
}

/** Sent after each page, for a progress bar. */
export interface BackfillProgressEvent {
  backfillId: string
  /** The partition being read, `YYYYMM`. */
  partition: number
  /** The range's partitions, and those done before this one (by this run or an earlier one). */
  partitionsTotal: number
  partitionsDone: number
  /**
   * Spans read so far and to read in all, this run: those the SQL pre-filter finds in
   * the partitions not done before (the bar). `total` grows if spans arrive meanwhile.
   */
  done: number
  total: number
  /** The same inside the current partition. */
  partitionDone: number
  partitionTotal: number
  /** This run's counters: spans of the application in the partitions begun, the rule's matches, rows added. */
  scanned: number
  matched: number
  added: number
}

export interface BackfillOptions {
  rule: BackfillableRule
  range: TimeRange
  scans: RuleScanRepository
  progress: RuleBackfillsRepository
  writer: DatasetWriter
  /** Spans read (and candidates appended) at a time. */
  pageSize?: number
  onProgress?: (event: BackfillProgressEvent) => void
  /** Stops the run between pages (rejecting with the signal's reason); partitions completed stay recorded. */
  signal?: AbortSignal
  logger: Logger
}

/**
 * The id of a backfill: the same rule, dataset, range and condition always give the
 * same one, so running a backfill again finds what an earlier run recorded. A change
 * to the condition (its SQL or any parameter) is a new backfill.
 */
export function backfillIdOf(
  rule: Pick<BackfillableRule, 'id' | 'datasetId' | 'condition'>,
  range: TimeRange,
): string {
  const conditionHash = createHash('sha256')
    .update(`${rule.condition.sql}\n${canonicalJson(rule.condition.params)}`)
    .digest('hex')
  return createHash('sha256')
    .update(
      JSON.stringify([
        rule.id,
        rule.datasetId,
        range.fromUnixNano.toString(),
        range.toUnixNano.toString(),
        conditionHash,
      ]),
    )
    .digest('hex')
    .slice(0, 32)
}

/**
 * Replays a rule over stored spans into its dataset: month partition by month
 * partition, oldest first; inside one, pages in primary-key order. The SQL condition
 * pre-filters; `evaluate` decides and maps. Appends fill the dataset up to its cap and
 * the run stops once anything was left out for it. Each partition completed is
 * recorded, so a rerun (after an abort, a crash or the cap being raised) starts at the
 * first partition not done; spans replayed inside a partition add nothing again, since
 * item ids derive from (dataset, trace, span).
 */
export async function backfillRule(options: BackfillOptions): Promise<BackfillSummary> {
  const { rule, range, scans, progress, writer, onProgress, signal } = options
  const pageSize = options.pageSize ?? 2000
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new Error(`invalid page size ${pageSize}`)
  const partitions = partitionsOf(range)
  const backfillId = backfillIdOf(rule, range)
  const key = { backfillId, ruleId: rule.id, datasetId: rule.datasetId, range }
  const logger = options.logger.child({
    component: 'rule-backfill',
    backfill_id: backfillId,
    rule_id: rule.id,
  })
  const condition = scanCondition(rule)

  const recorded = new Map<number, BackfillPartitionDone>()
  for (const done of await progress.partitionsDone(backfillId)) recorded.set(done.partition, done)
  const todo = partitions.filter((p) => !recorded.has(p.partition))
  const totals = new Map<number, number>()
  for (const p of todo) totals.set(p.partition, await scans.count(condition, p))
  let total = [...totals.values()].reduce((sum, n) => sum + n, 0)

  const summary: BackfillSummary = {
    backfillId,
    partitions: [],
    scanned: 0,
    matched: 0,
    added: 0,
    alreadyPresent: 0,
    droppedForCap: 0,
    excluded: 0,
    datasetFull: false,
  }
  if (recorded.size > 0 && todo.length > 0) summary.resumedFrom = todo[0]!.partition
  logger.info('backfill started', {
    dataset_id: rule.datasetId,
    partitions: partitions.length,
    partitions_done_before: recorded.size,
    spans_to_read: total,
  })

  let done = 0
  let partitionsDone = recorded.size
  for (const partition of partitions) {
    const before = recorded.get(partition.partition)
    if (before) {
      summary.partitions.push({
        partition: partition.partition,
        scanned: before.spansScanned,
        matched: before.spansMatched,
        added: before.rowsAdded,
        skipped: true,
      })
      continue
    }
    signal?.throwIfAborted()
    const current: BackfillPartitionSummary = {
      partition: partition.partition,
      scanned: await scans.scannedCount(rule.applicationId, partition),
      matched: 0,
      added: 0,
      skipped: false,
    }
    summary.partitions.push(current)
    summary.scanned += current.scanned
    const partitionTotal = totals.get(partition.partition) ?? 0
    let partitionDone = 0
    let after: SpanRef | undefined
    for (;;) {
      signal?.throwIfAborted()
      const spans = await scans.page(condition, partition, after, pageSize)
      if (spans.length === 0) break
      after = spans.at(-1)
      const candidates: AppendCandidate[] = []
      for (const span of spans) {
        const candidate = rule.evaluate(span)
        if (candidate) candidates.push(candidate)
      }
      const outcome = await appendPage(writer, rule.datasetId, candidates)
      current.matched += candidates.length
      current.added += outcome.added
      summary.matched += candidates.length
      summary.added += outcome.added
      summary.alreadyPresent += outcome.alreadyPresent
      summary.droppedForCap += outcome.droppedForCap
      summary.excluded += outcome.excluded
      partitionDone += spans.length
      done += spans.length
      // Spans stored since the counts were taken: the bar grows rather than overflowing.
      total = Math.max(total, done)
      onProgress?.({
        backfillId,
        partition: partition.partition,
        partitionsTotal: partitions.length,
        partitionsDone,
        done,
        total,
        partitionDone,
        partitionTotal: Math.max(partitionTotal, partitionDone),
        scanned: summary.scanned,
        matched: summary.matched,
        added: summary.added,
      })
      if (outcome.droppedForCap > 0) {
        summary.datasetFull = true
        break
      }
      if (spans.length < pageSize) break
    }
    if (summary.datasetFull) {
      logger.warn('backfill stopped: the dataset is at its cap', {
        dataset_id: rule.datasetId,
        partition: partition.partition,
        dropped_for_cap: summary.droppedForCap,
      })
      break
    }
    await progress.recordPartitionDone(key, {
      partition: partition.partition,
      spansScanned: current.scanned,
      spansMatched: current.matched,
      rowsAdded: current.added,
    })
    partitionsDone++
    logger.info('backfill partition done', {
      partition: partition.partition,
      scanned: current.scanned,
      matched: current.matched,
      added: current.added,
    })
  }
  logger.info('backfill finished', {
    scanned: summary.scanned,
    matched: summary.matched,
    added: summary.added,
    already_present: summary.alreadyPresent,
    dropped_for_cap: summary.droppedForCap,
    excluded: summary.excluded,
    dataset_full: summary.datasetFull,
  })
  return summary
}

/** Appends one page's candidates; a page wholly overlapping the excluded eval dataset is counted, not fatal. */
async function appendPage(writer: DatasetWriter, datasetId: string, candidates: readonly AppendCandidate[]) {
  const outcome = { added: 0, alreadyPresent: 0, droppedForCap: 0, excluded: 0 }
  if (candidates.length === 0) return outcome
  try {
    const result = await writer.append(datasetId, candidates, { upToCap: true })
    for (const item of result.items) {
      if (item.added) outcome.added++
      else outcome.alreadyPresent++
    }
    outcome.droppedForCap = result.droppedForCap
    outcome.excluded = result.excluded.length
  } catch (error) {
    // An API append refuses a batch that would leave nothing; for a backfill it is one
    // page of many that happens to lie wholly in the eval set.
    if (!(error instanceof SpansiftError && error.code === ErrorCode.leakageAllExcluded)) throw error
    outcome.excluded = candidates.length
  }
  return outcome
}

/** The rule's condition bound to its application, which also keeps the scan on the primary key's prefix. */
function scanCondition(rule: BackfillableRule): ScanCondition {
  return { applicationId: rule.applicationId, sql: rule.condition.sql, params: rule.condition.params }
}

function partitionsOf(range: TimeRange): MonthPartition[] {
  if (range.fromUnixNano >= range.toUnixNano) {
    throw new SpansiftError(ErrorCode.invalidArgument, 'the range is empty: its start must be before its end')
  }
  return monthPartitions(range)
}

/** JSON with object keys sorted (and bigints as tagged strings), so equal parameters hash equally. */
function canonicalJson(value: unknown): string {
  if (typeof value === 'bigint') return JSON.stringify({ $bigint: value.toString() })
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>
    const keys = Object.keys(object).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
