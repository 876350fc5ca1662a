import type { Logger } from '@spansift/core/logger'
import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import { attachContentEvents, type SpanContentEvent, spanKey } from '@spansift/core/span-content-event'
import type { Span } from '@spansift/core/span-model'

/** The storage the attacher reads and writes (the ClickHouse repositories fit). */
export interface ContentAttacherStorage {
  contentEvents: {
    insert(events: readonly SpanContentEvent[]): Promise<void>
    findForSpans(
      applicationId: string,
      refs: readonly { traceId: string; spanId: string }[],
      range: { fromUnixNano: bigint; toUnixNano: bigint },
    ): Promise<SpanContentEvent[]>
    hasEventsInRange(
      applicationId: string,
      range: { fromUnixNano: bigint; toUnixNano: bigint },
    ): Promise<boolean>
  }
  spans: {
    insert(spans: readonly Span[]): Promise<void>
    findByRefs(
      applicationId: string,
      refs: readonly { traceId: string; spanId: string }[],
      range: { fromUnixNano: bigint; toUnixNano: bigint },
    ): Promise<Span[]>
  }
}

export interface ContentAttacherOptions {
  storage: ContentAttacherStorage
  logger: Logger
  metrics?: Metrics
}

/**
 * Attaches GenAI content events (OTLP log records) to their spans in storage, whichever
 * arrives first, so every reader of `spans` (trace read-back, from-spans, add-trace, rule
 * scans and backfills, their SQL pre-filters included) sees them as span events.
 *
 * Both sides write first and read second: the events side stores the events, then reads the
 * spans they belong to; the spans side (after the span writer stored a batch) reads the
 * stored events of the batch's spans. Whatever the interleaving, at least one side reads the
 * other's write. A side that finds a stored span lacking stored events stores it again with
 * every stored event of the span merged in (a span stored twice is one row to every read:
 * ReplacingMergeTree by ingestion time), then reads again, until the latest copy holds every
 * stored event (at most MAX_ROUNDS): two writers merging one span at once may each store a
 * copy missing the other's event, and whichever stored last sees the other's event on its
 * next read and repairs it.
 */
export interface ContentAttacher {
  /** Stores content events, then attaches them to those of their spans already stored. */
  storeEvents(events: readonly SpanContentEvent[]): Promise<void>
  /** After a batch of spans was stored: attaches content events stored before it. */
  attachToStoredSpans(spans: readonly Span[]): Promise<void>
  /** The spans with the content events stored so far attached (nothing written), for the rule worker. */
  withStoredContent(spans: readonly Span[]): Promise<Span[]>
  /**
   * The stored spans these content events belong to, with the events (and those stored
   * before) attached, nothing written: what the rule worker re-evaluates when content arrives
   * after its span. Spans not stored yet are absent (the rule worker sees them when they arrive).
   */
  storedSpansWith(events: readonly SpanContentEvent[]): Promise<Span[]>
}

/**
 * How far from a span's start and end its content events may lie. Events are emitted during
 * the span, by the same process; the slack only bounds the partitions a lookup reads.
 */
const EVENT_TIME_SLACK_NS = 24n * 3600n * 1_000_000_000n

/**
 * The span side first asks whether the application has any content event near the batch,
 * and looks its spans up only then, so applications that send no logs pay one tiny query.
 * Measured (load-tests/content-lookup-benchmark.ts, 2-core Xeon shared with other jobs,
 * noisy): the span lookup costs 25–300 ms for 1,000 spans and 0.26–1.2 s for 20,000 (mostly
 * ClickHouse handling the id arrays: it costs as much against an empty table), the first
 * question 7–18 ms. Content events are emitted during their span, so a few minutes around
 * the batch cover clock differences between emitters; content events further away than
 * PRECHECK_SLACK_NS from every span of a batch are found from the other side only (the
 * content writer looks spans up within a day).
 */
const PRECHECK_SLACK_NS = 5n * 60n * 1_000_000_000n

/** Merge rounds per span set: one, plus a repair when concurrent writers raced. */
const MAX_ROUNDS = 5

/**
 * Only spans that carry GenAI attributes get content events (instrumentations that send
 * content as log records set `gen_ai.*` on the span), so the span side looks only those up:
 * the rest of a trace (HTTP, database spans) costs no query. The events side attaches
 * events to whatever span they name.
 */
function mayHaveContent(span: Span): boolean {
  for (const key in span.attributes) if (key.startsWith('gen_ai.')) return true
  return false
}

export function createContentAttacher(options: ContentAttacherOptions): ContentAttacher {
  const { storage, logger } = options
  const metrics = options.metrics ?? noopMetrics
  const attached = metrics.counter({
    name: 'spansift_content_events_attached_total',
    help: 'Spans stored again with GenAI content events (OTLP log records) attached, by side (events arrived after the span, or before).',
    labelNames: ['arrived'],
  })
  const stored = metrics.counter({
    name: 'spansift_content_events_stored_total',
    help: 'GenAI content events (OTLP log records) stored.',
  })

  /** Spans grouped by application, with their lookup range. */
  function groupSpans(spans: readonly Span[]) {
    const groups = new Map<string, { spans: Span[]; from: bigint; to: bigint }>()
    for (const span of spans) {
      const group = groups.get(span.applicationId)
      const end =
        span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano : span.startTimeUnixNano
      if (!group) groups.set(span.applicationId, { spans: [span], from: span.startTimeUnixNano, to: end })
      else {
        group.spans.push(span)
        if (span.startTimeUnixNano < group.from) group.from = span.startTimeUnixNano
        if (end > group.to) group.to = end
      }
    }
    return groups
  }

  /** Each span with all its stored content events attached; only those that changed. */
  async function merged(spans: readonly Span[]): Promise<Span[]> {
    const out: Span[] = []
    for (const [applicationId, group] of groupSpans(spans)) {
      const candidates = group.spans
      const near = await storage.contentEvents.hasEventsInRange(applicationId, {
        fromUnixNano: notBefore1970(group.from - PRECHECK_SLACK_NS),
        toUnixNano: group.to + PRECHECK_SLACK_NS + 1n,
      })
      if (!near) continue
      const events = await storage.contentEvents.findForSpans(applicationId, candidates, {
        fromUnixNano: notBefore1970(group.from - EVENT_TIME_SLACK_NS),
        toUnixNano: group.to + EVENT_TIME_SLACK_NS + 1n,
      })
      if (events.length === 0) continue
      const bySpan = groupEvents(events)
      for (const span of candidates) {
        const mine = bySpan.get(spanKey(span))
        const withEvents = mine && attachContentEvents(span, mine)
        if (withEvents) out.push(withEvents)
      }
    }
    return out
  }

  /**
   * Stores again those of `spans` that lack stored content events, then reads them back and
   * repeats until the stored copies hold every stored event. Returns how many were stored again.
   */
  async function converge(spans: readonly Span[]): Promise<number> {
    let current = spans
    let stored = 0
    for (let round = 1; ; round++) {
      const changed = await merged(current)
      if (changed.length === 0) return stored
      if (round > MAX_ROUNDS) {
        logger.warn('content events still being attached after several rounds; the next write repairs it', {
          spans: changed.length,
        })
        return stored
      }
      await storage.spans.insert(changed)
      stored += changed.length
      current = await readBack(changed)
    }
  }

  /** The latest stored copy of each span. */
  async function readBack(spans: readonly Span[]): Promise<Span[]> {
    const out: Span[] = []
    for (const [applicationId, group] of groupSpans(spans)) {
      out.push(
        ...(await storage.spans.findByRefs(applicationId, group.spans, {
          fromUnixNano: group.from,
          toUnixNano: group.to + 1n,
        })),
      )
    }
    return out
  }

  /** The latest stored copies of the spans these events belong to. */
  async function spansOf(events: readonly SpanContentEvent[]): Promise<Span[]> {
    const byApplication = new Map<string, SpanContentEvent[]>()
    for (const event of events) {
      const list = byApplication.get(event.applicationId)
      if (list) list.push(event)
      else byApplication.set(event.applicationId, [event])
    }
    const spans: Span[] = []
    for (const [applicationId, list] of byApplication) {
      let from = list[0]!.timeUnixNano
      let to = from
      for (const event of list) {
        if (event.timeUnixNano < from) from = event.timeUnixNano
        if (event.timeUnixNano > to) to = event.timeUnixNano
      }
      const refs = [...groupEvents(list).values()].map((mine) => ({
        traceId: mine[0]!.traceId,
        spanId: mine[0]!.spanId,
      }))
      spans.push(
        ...(await storage.spans.findByRefs(applicationId, refs, {
          fromUnixNano: notBefore1970(from - EVENT_TIME_SLACK_NS),
          toUnixNano: to + EVENT_TIME_SLACK_NS,
        })),
      )
    }
    return spans
  }

  /** The spans with the content events stored so far attached (nothing written). */
  async function withStoredContent(spans: readonly Span[], lookUp = spans): Promise<Span[]> {
    const changed = await merged(lookUp)
    if (changed.length === 0) return [...spans]
    const byKey = new Map(changed.map((span) => [spanKey(span), span]))
    return spans.map((span) => byKey.get(spanKey(span)) ?? span)
  }

  return {
    async storeEvents(events) {
      if (events.length === 0) return
      await storage.contentEvents.insert(events)
      stored.inc(undefined, events.length)
      const spans = await spansOf(events)
      const count = await converge(spans)
      if (count > 0) attached.inc({ arrived: 'after_span' }, count)
    },
    async attachToStoredSpans(spans) {
      const count = await converge(spans.filter(mayHaveContent))
      if (count > 0) attached.inc({ arrived: 'before_span' }, count)
    },
    async storedSpansWith(events) {
      if (events.length === 0) return []
      const spans = await withStoredContent(await spansOf(events))
      const bySpan = groupEvents(events)
      return spans.map((span) => attachContentEvents(span, bySpan.get(spanKey(span)) ?? []) ?? span)
    },
    withStoredContent: (spans) => withStoredContent(spans, spans.filter(mayHaveContent)),
  }
}

function notBefore1970(unixNano: bigint): bigint {
  return unixNano < 0n ? 0n : unixNano
}

function groupEvents(events: readonly SpanContentEvent[]): Map<string, SpanContentEvent[]> {
  const bySpan = new Map<string, SpanContentEvent[]>()
  for (const event of events) {
    const key = spanKey(event)
    const list = bySpan.get(key)
    if (list) list.push(event)
    else bySpan.set(key, [event])
  }
  return bySpan
}
