import type { Attributes, Span, SpanEvent } from './span-model.ts'

/**
 * A GenAI content event that arrived as an OTLP log record tied to a span (trace and span id),
 * e.g. `gen_ai.user.message` or `gen_ai.client.inference.operation.details`. Attached to its
 * span it becomes one of the span's events: the log's event name, at the log's time, with the
 * log's attributes plus its body under `body` (structured, as other attribute values). So
 * rules, mappings and the message model see it as a span event, without knowing about logs.
 */
export interface SpanContentEvent {
  applicationId: string
  /** 32 lowercase hex characters. */
  traceId: string
  /** 16 lowercase hex characters. */
  spanId: string
  timeUnixNano: bigint
  /**
   * The event's position among the content events of its export: orders events of one
   * timestamp (SDKs stamp log records to the millisecond, so a system, a user and an
   * assistant message often share one) in the order they were sent.
   */
  sequence: number
  name: string
  attributes: Attributes
}

/** Log records whose event name starts with this are GenAI content events, stored and attached. */
export const GENAI_EVENT_PREFIX = 'gen_ai.'

/** The attribute key the log record's body is kept under in the span event. */
export const CONTENT_EVENT_BODY_KEY = 'body'

/** The span event a content event becomes. */
export function toSpanEvent(event: SpanContentEvent): SpanEvent {
  return { timeUnixNano: event.timeUnixNano, name: event.name, attributes: event.attributes }
}

/** One event's identity: a redelivered or re-sent content event is attached once. */
function eventKey(event: SpanEvent): string {
  return `${event.timeUnixNano}\u0000${event.name}\u0000${JSON.stringify(event.attributes)}`
}

/**
 * The span with its content events among its events, in time order (a stable sort, so
 * events of one time keep their order), each event once however often it arrived. Returns
 * undefined when every event is already there, so callers can tell nothing changed and
 * skip a write.
 */
export function attachContentEvents(span: Span, events: readonly SpanContentEvent[]): Span | undefined {
  const seen = new Set(span.events.map(eventKey))
  const added: SpanEvent[] = []
  const ordered = [...events].sort((a, b) =>
    a.timeUnixNano < b.timeUnixNano ? -1 : a.timeUnixNano > b.timeUnixNano ? 1 : a.sequence - b.sequence,
  )
  for (const event of ordered) {
    if (event.traceId !== span.traceId || event.spanId !== span.spanId) continue
    if (event.applicationId !== span.applicationId) continue
    const spanEvent = toSpanEvent(event)
    const key = eventKey(spanEvent)
    if (seen.has(key)) continue
    seen.add(key)
    added.push(spanEvent)
  }
  if (added.length === 0) return undefined
  // Stable: events of one time keep their order (the span's own first, then by sequence).
  const merged = [...span.events, ...added].sort((a, b) =>
    a.timeUnixNano < b.timeUnixNano ? -1 : a.timeUnixNano > b.timeUnixNano ? 1 : 0,
  )
  return { ...span, events: merged }
}

/** `applicationId/traceId/spanId`: content events grouped by the span they belong to. */
export function spanKey(ref: { applicationId: string; traceId: string; spanId: string }): string {
  return `${ref.applicationId}/${ref.traceId}/${ref.spanId}`
}
