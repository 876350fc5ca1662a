import { setImmediate } from 'node:timers/promises'
import type { Span } from '@spansift/core/span-model'
import type { QueryRunner } from './query-runner.ts'
import { SPAN_JSON_COLUMNS, type SpanJsonRow, spanFromJsonRow, spanToRow } from './span-row.ts'
import { encodeSpansRowBinary, SPAN_ROW_BINARY_COLUMNS } from './span-row-binary.ts'
import { tableNames } from './tables.ts'

/** A half-open time range [from, to) in Unix nanoseconds. Every span lookup takes one. */
export interface TimeRange {
  fromUnixNano: bigint
  toUnixNano: bigint
}

export interface SpansRepository {
  /** Stores spans; a span stored twice is one row to every read. */
  insert(spans: readonly Span[]): Promise<void>
  /** One application's spans of one trace that started inside the range, in start order. */
  findTrace(applicationId: string, traceId: string, range: TimeRange): Promise<Span[]>
  /**
   * One application's spans named by (trace id, span id) that started inside the
   * range, with one query that reads only the range's partitions and the primary-key
   * ranges of the refs. Refs that match nothing are simply absent from the answer.
   */
  findByRefs(applicationId: string, refs: readonly SpanRef[], range: TimeRange): Promise<Span[]>
}

/** A span named by its ids (lowercase hex). */
export interface SpanRef {
  traceId: string
  spanId: string
}

/**
 * The from-spans lookup: the application and the (trace, span) set hit the primary key
 * (application_id, trace_id, span_id); the time range prunes partitions. A span stored
 * twice and not yet merged is read twice, so LIMIT 1 BY keeps the latest ingested copy
 * (cheaper than FINAL for a point lookup). It reads six columns, not twenty: the ids,
 * attributes, events and span_json (SPAN_JSON_COLUMNS). Exported so the benchmark runs
 * the same SQL (and, to compare layouts, the same query selecting other `columns`).
 */
export function spansByRefsQuery(table: string, columns: string = SPAN_JSON_COLUMNS): string {
  return `SELECT ${columns} FROM ${table}
    WHERE application_id = {application_id:UUID}
      AND trace_id IN {trace_ids:Array(FixedString(32))}
      AND (trace_id, span_id) IN arrayZip({trace_ids:Array(FixedString(32))}, {span_ids:Array(FixedString(16))})
      AND ${SPAN_TIME_RANGE_CONDITION}
    ORDER BY ingested_at DESC
    LIMIT 1 BY trace_id, span_id`
}

/** The parameters of spansByRefsQuery. */
export function spansByRefsParams(applicationId: string, refs: readonly SpanRef[], range: TimeRange) {
  return {
    application_id: applicationId,
    trace_ids: refs.map((r) => r.traceId),
    span_ids: refs.map((r) => r.spanId),
    ...timeRangeParams(range),
  }
}

/** The time-range condition every `spans` query carries, so ClickHouse prunes by partition. */
export const SPAN_TIME_RANGE_CONDITION =
  "start_time >= fromUnixTimestamp64Nano({from_ns:Int64}, 'UTC') AND start_time < fromUnixTimestamp64Nano({to_ns:Int64}, 'UTC')"

/** The query parameters of SPAN_TIME_RANGE_CONDITION. */
export function timeRangeParams(range: TimeRange): { from_ns: string; to_ns: string } {
  return { from_ns: range.fromUnixNano.toString(), to_ns: range.toUnixNano.toString() }
}

/** Spans encoded between two yields to the event loop (~10 ms of work). */
const ENCODE_SLICE_SPANS = 1_000

export function createSpansRepository(runner: QueryRunner): SpansRepository {
  const { spans } = tableNames(runner.database)
  return {
    async insert(batch) {
      if (batch.length === 0) return
      if (!runner.binaryInserts) return runner.insert('spans.insert', spans, batch.map(spanToRow))
      // Encoded a slice at a time, yielding between slices: a 50k-span batch is ~0.3 s of
      // encoding, which in one piece would hold every API request of the process back.
      const chunks: Buffer[] = []
      for (let i = 0; i < batch.length; i += ENCODE_SLICE_SPANS) {
        if (i > 0) await setImmediate()
        chunks.push(encodeSpansRowBinary(batch.slice(i, i + ENCODE_SLICE_SPANS)))
      }
      // Every read of `spans` takes the latest copy itself (FINAL or LIMIT 1 BY), so
      // replacing duplicates within the inserted block is wasted work.
      await runner.insertRowBinary('spans.insert', spans, SPAN_ROW_BINARY_COLUMNS, chunks, {
        optimize_on_insert: 0,
      })
    },
    async findTrace(applicationId, traceId, range) {
      // Plain FINAL merges across partitions, so it considers every month's parts; a span's
      // copies share its start month's partition, so merging within partitions is exact.
      const rows = await runner.select<SpanJsonRow>(
        'spans.find-trace',
        `SELECT ${SPAN_JSON_COLUMNS} FROM ${spans} FINAL
         WHERE application_id = {application_id:UUID} AND trace_id = {trace_id:FixedString(32)}
           AND ${SPAN_TIME_RANGE_CONDITION}
         ORDER BY start_time, span_id
         SETTINGS do_not_merge_across_partitions_select_final = 1`,
        { application_id: applicationId, trace_id: traceId, ...timeRangeParams(range) },
      )
      return rows.map(spanFromJsonRow)
    },
    async findByRefs(applicationId, refs, range) {
      if (refs.length === 0) return []
      const rows = await runner.select<SpanJsonRow>(
        'spans.find-by-refs',
        spansByRefsQuery(spans),
        spansByRefsParams(applicationId, refs, range),
      )
      return rows.map(spanFromJsonRow)
    },
  }
}
