import type { SpanContentEvent } from '@spansift/core/span-content-event'
import type { Attributes } from '@spansift/core/span-model'
import type { QueryRunner } from './query-runner.ts'
import type { SpanRef, TimeRange } from './spans-repository.ts'
import { tableNames } from './tables.ts'

/** A `span_content_events` row as JSONEachRow writes it. */
interface ContentEventRow {
  application_id: string
  trace_id: string
  span_id: string
  /** Unix nanoseconds as a decimal string (DateTime64(9) reads it exactly). */
  time: string
  sequence: number
  name: string
  /** JSON text of the event's attributes (the log's attributes and `body`). */
  attributes: string
}

interface StoredContentEventRow extends Omit<ContentEventRow, 'time'> {
  time_ns: string
}

/** GenAI content events that arrived as OTLP log records (`span_content_events`). */
export interface ContentEventsRepository {
  /** Stores events; an event stored twice is one to every read. */
  insert(events: readonly SpanContentEvent[]): Promise<void>
  /**
   * The stored content events of one application's spans named by (trace id, span id), whose
   * time is inside the range (it prunes partitions), each once, in time order.
   */
  findForSpans(applicationId: string, refs: readonly SpanRef[], range: TimeRange): Promise<SpanContentEvent[]>
  /**
   * Whether one application has any content event inside the range: a cheap first question
   * (a primary-key prefix, one partition's range, LIMIT 1, no large parameter set) before
   * asking `findForSpans` about the spans of a batch.
   */
  hasEventsInRange(applicationId: string, range: TimeRange): Promise<boolean>
}

export function createContentEventsRepository(runner: QueryRunner): ContentEventsRepository {
  const table = tableNames(runner.database).spanContentEvents
  return {
    insert: (events) =>
      runner.insert(
        'content-events.insert',
        table,
        events.map(
          (event): ContentEventRow => ({
            application_id: event.applicationId,
            trace_id: event.traceId,
            span_id: event.spanId,
            time: event.timeUnixNano.toString(),
            sequence: event.sequence,
            name: event.name,
            attributes: JSON.stringify(event.attributes),
          }),
        ),
      ),
    async hasEventsInRange(applicationId, range) {
      const rows = await runner.select<{ one: number }>(
        'content-events.any-in-range',
        `SELECT 1 AS one FROM ${table}
         WHERE application_id = {application_id:UUID}
           AND time >= fromUnixTimestamp64Nano({from_ns:Int64}, 'UTC')
           AND time < fromUnixTimestamp64Nano({to_ns:Int64}, 'UTC')
         LIMIT 1`,
        {
          application_id: applicationId,
          from_ns: range.fromUnixNano.toString(),
          to_ns: range.toUnixNano.toString(),
        },
      )
      return rows.length > 0
    },
    async findForSpans(applicationId, refs, range) {
      if (refs.length === 0) return []
      // The (application, trace, span) prefix of the ORDER BY hits the primary key; the time
      // range prunes partitions. DISTINCT collapses copies not yet merged.
      const rows = await runner.select<StoredContentEventRow>(
        'content-events.find-for-spans',
        `SELECT DISTINCT application_id, trace_id, span_id,
           toString(toUnixTimestamp64Nano(time)) AS time_ns, sequence, name, attributes
         FROM ${table}
         WHERE application_id = {application_id:UUID}
           AND trace_id IN {trace_ids:Array(FixedString(32))}
           AND (trace_id, span_id) IN arrayZip({trace_ids:Array(FixedString(32))}, {span_ids:Array(FixedString(16))})
           AND time >= fromUnixTimestamp64Nano({from_ns:Int64}, 'UTC')
           AND time < fromUnixTimestamp64Nano({to_ns:Int64}, 'UTC')
         ORDER BY trace_id, span_id, time, sequence`,
        {
          application_id: applicationId,
          trace_ids: refs.map((r) => r.traceId),
          span_ids: refs.map((r) => r.spanId),
          from_ns: range.fromUnixNano.toString(),
          to_ns: range.toUnixNano.toString(),
        },
      )
      return rows.map((row) => ({
        applicationId: row.application_id,
        traceId: row.trace_id,
        spanId: row.span_id,
        timeUnixNano: BigInt(row.time_ns),
        sequence: Number(row.sequence),
        name: row.name,
        attributes: JSON.parse(row.attributes) as Attributes,
      }))
    },
  }
}
