import type { Attributes, Span } from './span-model.ts'
import { formatRfc3339Nano } from './time.ts'

const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const
const STATUS_NAMES = ['unset', 'ok', 'error'] as const

/** A span as the HTTP API shows it. */
export interface SpanJson {
  application_id: string
  trace_id: string
  span_id: string
  parent_span_id: string | null
  trace_state: string
  name: string
  kind: (typeof KIND_NAMES)[number]
  start_time: string
  end_time: string
  duration_ns: string
  status: { code: (typeof STATUS_NAMES)[number]; message: string }
  service_name: string
  scope: { name: string; version: string }
  resource_attributes: Attributes
  attributes: Attributes
  events: Array<{ time: string; name: string; attributes: Attributes }>
  links: Array<{ trace_id: string; span_id: string; trace_state: string; attributes: Attributes }>
}

/**
 * The API's view of a span: ids in lowercase hex, times in RFC 3339 with nanoseconds,
 * durations as decimal strings (nanoseconds overflow JSON numbers), attributes as JSON values
 * (an int64 past 2^53 as a number with its exact digits: exact-integer.ts).
 */
export function spanToJson(span: Span): SpanJson {
  return {
    application_id: span.applicationId,
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_span_id: span.parentSpanId || null,
    trace_state: span.traceState,
    name: span.name,
    kind: KIND_NAMES[span.kind] ?? 'unspecified',
    start_time: formatRfc3339Nano(span.startTimeUnixNano),
    end_time: formatRfc3339Nano(span.endTimeUnixNano),
    duration_ns: span.durationNano.toString(),
    status: { code: STATUS_NAMES[span.statusCode] ?? 'unset', message: span.statusMessage },
    service_name: span.serviceName,
    scope: { name: span.scopeName, version: span.scopeVersion },
    resource_attributes: span.resourceAttributes,
    attributes: span.attributes,
    events: span.events.map((e) => ({
      time: formatRfc3339Nano(e.timeUnixNano),
      name: e.name,
      attributes: e.attributes,
    })),
    links: span.links.map((l) => ({
      trace_id: l.traceId,
      span_id: l.spanId,
      trace_state: l.traceState,
      attributes: l.attributes,
    })),
  }
}
