import type { QueryRunner } from './query-runner.ts'
import type { TimeRange } from './spans-repository.ts'
import { tableNames } from './tables.ts'

/** The backfill a progress row belongs to. */
export interface RuleBackfillKey {
  backfillId: string
  ruleId: string
  datasetId: string
  range: TimeRange
}

/** One month partition a backfill finished, with what it found there. */
export interface BackfillPartitionDone {
  /** `YYYYMM`. */
  partition: number
  spansScanned: number
  spansMatched: number
  rowsAdded: number
}

export interface RuleBackfillsRepository {
  /** Records a partition as done; recording it again replaces the counters. */
  recordPartitionDone(backfill: RuleBackfillKey, done: BackfillPartitionDone): Promise<void>
  /** The partitions of a backfill recorded done, oldest first. */
  partitionsDone(backfillId: string): Promise<BackfillPartitionDone[]>
}

interface Row {
  partition_done: number
  spans_scanned: string
  spans_matched: string
  rows_added: string
}

/** The `rule_backfills` table: which month partitions of a backfill are done, so a rerun resumes. */
export function createRuleBackfillsRepository(runner: QueryRunner): RuleBackfillsRepository {
  const { ruleBackfills } = tableNames(runner.database)
  return {
    recordPartitionDone: (backfill, done) =>
      runner.insert('rule-backfills.record', ruleBackfills, [
        {
          backfill_id: backfill.backfillId,
          rule_id: backfill.ruleId,
          dataset_id: backfill.datasetId,
          // Unix nanoseconds as decimal text, which DateTime64(9) reads exactly (as for spans).
          from_time: backfill.range.fromUnixNano.toString(),
          to_time: backfill.range.toUnixNano.toString(),
          partition_done: done.partition,
          spans_scanned: done.spansScanned,
          spans_matched: done.spansMatched,
          rows_added: done.rowsAdded,
        },
      ]),
    async partitionsDone(backfillId) {
      const rows = await runner.select<Row>(
        'rule-backfills.partitions-done',
        `SELECT partition_done, spans_scanned, spans_matched, rows_added
         FROM ${ruleBackfills} FINAL WHERE backfill_id = {backfill_id:String}
         ORDER BY partition_done`,
        { backfill_id: backfillId },
      )
      return rows.map((row) => ({
        partition: Number(row.partition_done),
        spansScanned: Number(row.spans_scanned),
        spansMatched: Number(row.spans_matched),
        rowsAdded: Number(row.rows_added),
      }))
    },
  }
}
