import { parseJsonExact } from '@spansift/core/exact-integer'
import type {
  Attributes,
  AttributeValue,
  Span,
  SpanEvent,
  SpanKind,
  SpanLink,
  StatusCode,
} from '@spansift/core/span-model'

/** A `spans` row as JSONEachRow writes it. */
export interface SpanRow {
  application_id: string
  trace_id: string
  span_id: string
  parent_span_id: string
  trace_state: string
  name: string
  kind: number
  /** Unix nanoseconds as a decimal string (DateTime64(9) reads it exactly). */
  start_time: string
  end_time: string
  duration_ns: string
  status_code: number
  status_message: string
  service_name: string
  scope_name: string
  scope_version: string
  /** Each value is the JSON text of the attribute value, so types and structure survive. */
  resource_attributes: Record<string, string>
  attributes: Record<string, string>
  events: string
  links: string
  flags: number
}

/** A `spans` row as read back (`start_ns`/`end_ns` selected as Unix nanoseconds). */
export interface StoredSpanRow extends Omit<SpanRow, 'start_time' | 'end_time'> {
  start_ns: string
  end_ns: string
}

/** The columns to select for `rowToSpan`. */
export const SPAN_COLUMNS = `application_id, trace_id, span_id, parent_span_id, trace_state, name, kind,
  toString(toUnixTimestamp64Nano(start_time)) AS start_ns, toString(toUnixTimestamp64Nano(end_time)) AS end_ns,
  toString(duration_ns) AS duration_ns, status_code, status_message, service_name, scope_name, scope_version,
  resource_attributes, attributes, events, links, flags`

/**
 * The `spans.span_json` column (migration 12): the engine writes, for every row it
 * stores, the span's small fields as a JSON array, in this order (every 64-bit value a
 * string, so no output setting changes it). A lookup selects the ids, the two fields
 * that can be large (attributes and events, GenAI content) and this one column instead
 * of twenty columns: a granule costs six columns' seeks and decompressions instead of
 * twenty, and the content is not stored twice (same-run figures in
 * docs/architecture.md). An array, not an object: half the bytes, same lookup time.
 */
export const SPAN_JSON_FIELDS = [
  'parent_span_id',
  'trace_state',
  'name',
  'kind',
  'start_ns',
  'end_ns',
  'duration_ns',
  'status_code',
  'status_message',
  'service_name',
  'scope_name',
  'scope_version',
  'resource_attributes',
  'links',
  'flags',
] as const

/** What a lookup selects for `spanFromJsonRow`. */
export const SPAN_JSON_COLUMNS = 'application_id, trace_id, span_id, attributes, events, span_json'

/** A row of SPAN_JSON_COLUMNS. */
export interface SpanJsonRow {
  application_id: string
  trace_id: string
  span_id: string
  attributes: Record<string, string>
  events: string
  span_json: string
}

/** Translates a row of SPAN_JSON_COLUMNS back into the span it was written from. */
export function spanFromJsonRow(row: SpanJsonRow): Span {
  const values = JSON.parse(row.span_json) as unknown[]
  const stored: Record<string, unknown> = {
    application_id: row.application_id,
    trace_id: row.trace_id,
    span_id: row.span_id,
    attributes: row.attributes,
    events: row.events,
  }
  SPAN_JSON_FIELDS.forEach((field, i) => {
    stored[field] = values[i]
  })
  return rowToSpan(stored as unknown as StoredSpanRow)
}

/** Sets an own property, so a key named `__proto__` is an attribute like any other. */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

function encodeAttributes(attributes: Attributes): Record<string, string> {
  const encoded: Record<string, string> = {}
  for (const key in attributes) setOwn(encoded, key, JSON.stringify(attributes[key]))
  return encoded
}

function decodeAttributes(encoded: Record<string, string>): Attributes {
  const attributes: Attributes = {}
  for (const key in encoded) setOwn(attributes, key, parseJsonExact(encoded[key] as string) as AttributeValue)
  return attributes
}

/** The `events` column's JSON text. */
export function encodeEvents(events: readonly SpanEvent[]): string {
  return JSON.stringify(
    events.map((e) => ({
      time_unix_nano: e.timeUnixNano.toString(),
      name: e.name,
      attributes: e.attributes,
    })),
  )
}

/** The `links` column's JSON text. */
export function encodeLinks(links: readonly SpanLink[]): string {
  return JSON.stringify(
    links.map((l) => ({
      trace_id: l.traceId,
      span_id: l.spanId,
      trace_state: l.traceState,
      attributes: l.attributes,
    })),
  )
}

/** Translates a span into its row. */
export function spanToRow(span: Span): SpanRow {
  return {
    application_id: span.applicationId,
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_span_id: span.parentSpanId,
    trace_state: span.traceState,
    name: span.name,
    kind: span.kind,
    start_time: span.startTimeUnixNano.toString(),
    end_time: span.endTimeUnixNano.toString(),
    duration_ns: span.durationNano.toString(),
    status_code: span.statusCode,
    status_message: span.statusMessage,
    service_name: span.serviceName,
    scope_name: span.scopeName,
    scope_version: span.scopeVersion,
    resource_attributes: encodeAttributes(span.resourceAttributes),
    attributes: encodeAttributes(span.attributes),
    events: encodeEvents(span.events),
    links: encodeLinks(span.links),
    flags: span.flags,
  }
}

/** Translates a stored row back into the span it was written from. */
export function rowToSpan(row: StoredSpanRow): Span {
  const events = parseJsonExact(row.events) as Array<{
    time_unix_nano: string
    name: string
    attributes: Attributes
  }>
  const links = parseJsonExact(row.links) as Array<{
    trace_id: string
    span_id: string
    trace_state: string
    attributes: Attributes
  }>
  return {
    applicationId: row.application_id,
    traceId: row.trace_id,
    spanId: row.span_id,
    parentSpanId: row.parent_span_id,
    traceState: row.trace_state,
    name: row.name,
    kind: Number(row.kind) as SpanKind,
    startTimeUnixNano: BigInt(row.start_ns),
    endTimeUnixNano: BigInt(row.end_ns),
    durationNano: BigInt(row.duration_ns),
    statusCode: Number(row.status_code) as StatusCode,
    statusMessage: row.status_message,
    serviceName: row.service_name,
    scopeName: row.scope_name,
    scopeVersion: row.scope_version,
    resourceAttributes: decodeAttributes(row.resource_attributes),
    attributes: decodeAttributes(row.attributes),
    events: events.map(
      (e): SpanEvent => ({ timeUnixNano: BigInt(e.time_unix_nano), name: e.name, attributes: e.attributes }),
    ),
    links: links.map(
      (l): SpanLink => ({
        traceId: l.trace_id,
        spanId: l.span_id,
        traceState: l.trace_state,
        attributes: l.attributes,
      }),
    ),
    flags: Number(row.flags),
  }
}
