import type { OtlpLogRecord } from './otlp-logs-types.ts'
import type { OtlpAnyValue, OtlpKeyValue, OtlpSpan } from './otlp-types.ts'

/**
 * What one span may carry, named after the OpenTelemetry SDK span limits
 * (OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT and friends), plus the time window a span must fall in.
 * A span over a limit is rejected whole, through OTLP partial success with the reason: an
 * SDK configured with the same limits never sends one, and spansift never stores a span
 * other than as it was sent (truncating would need dropped counts the span model does not
 * keep).
 */
export interface SpanLimits {
  /** Attributes per span (OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT). */
  attributeCount: number
  /**
   * Characters per string attribute value, and per string inside an array or kvlist value
   * (OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT); bytes values count their bytes.
   */
  attributeValueLength: number
  /** Events per span (OTEL_SPAN_EVENT_COUNT_LIMIT). */
  eventCount: number
  /** Links per span (OTEL_SPAN_LINK_COUNT_LIMIT). */
  linkCount: number
  /** Attributes per event (OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT). */
  eventAttributeCount: number
  /** Attributes per link (OTEL_LINK_ATTRIBUTE_COUNT_LIMIT). */
  linkAttributeCount: number
  /** Characters of the span name (no SDK limit; names are a low-cardinality column). */
  nameLength: number
  /** How far in the past a span may start, in ms: older spans are past the retention anyway. */
  maxAgeMs: number
  /** How far in the future a span may start or end, in ms (clock skew). */
  maxFutureMs: number
}

/**
 * The defaults: a few times the SDKs' own defaults (128 attributes, events and links),
 * since GenAI instrumentations flatten prompts into many attributes, and a value length
 * that keeps a long prompt (1 MiB) while refusing a span that would take gigabytes once
 * decoded. The window: the default span retention (30 days; older spans would be dropped
 * by the TTL anyway) and an hour of clock skew.
 */
export const DEFAULT_SPAN_LIMITS: SpanLimits = {
  attributeCount: 1024,
  attributeValueLength: 1024 * 1024,
  eventCount: 1024,
  linkCount: 1024,
  eventAttributeCount: 128,
  linkAttributeCount: 128,
  nameLength: 1024,
  maxAgeMs: 30 * 86_400_000,
  maxFutureMs: 3_600_000,
}

/**
 * The latest instant ClickHouse's DateTime64(9) can hold, in Unix nanoseconds
 * (2262-04-11T23:47:16.854775807Z): past it an insert fails with DECIMAL_OVERFLOW.
 */
export const MAX_STORABLE_UNIX_NANO = 2n ** 63n - 1n

const NANOS_PER_MS = 1_000_000n

/**
 * Why `span` may not be stored, or undefined when it may: a timestamp storage cannot hold
 * or outside the window around `nowMs`, or a count or length over `limits`. Pure and cheap:
 * counts first, lengths only when the counts pass.
 */
export function spanLimitViolation(span: OtlpSpan, limits: SpanLimits, nowMs: number): string | undefined {
  const early = spanHeadViolation(
    span.startTimeUnixNano,
    span.endTimeUnixNano,
    span.name.length,
    span.attributes.length,
    span.events.length,
    span.links.length,
    limits,
    nowMs,
  )
  if (early !== undefined) return early
  for (const event of span.events) {
    if (event.attributes.length > limits.eventAttributeCount)
      return spanLimitMessage.eventAttributeCount(limits, event.attributes.length)
  }
  for (const link of span.links) {
    if (link.attributes.length > limits.linkAttributeCount)
      return spanLimitMessage.linkAttributeCount(limits, link.attributes.length)
  }
  const max = limits.attributeValueLength
  const tooLong = longValueKey(span.attributes, max)
  if (tooLong !== undefined) return spanLimitMessage.longValue('attribute', tooLong, max)
  for (const event of span.events) {
    const key = longValueKey(event.attributes, max)
    if (key !== undefined) return spanLimitMessage.longValue('event attribute', key, max)
  }
  for (const link of span.links) {
    const key = longValueKey(link.attributes, max)
    if (key !== undefined) return spanLimitMessage.longValue('link attribute', key, max)
  }
  return undefined
}

/**
 * The checks of `spanLimitViolation` that need no attribute walk, in its order: timestamps,
 * then name length and the counts. Shared with the wire-form checks (split-by-trace-wire.ts),
 * so both paths give the same reasons.
 */
export function spanHeadViolation(
  start: bigint,
  end: bigint,
  nameLength: number,
  attributeCount: number,
  eventCount: number,
  linkCount: number,
  limits: SpanLimits,
  nowMs: number,
): string | undefined {
  if (start === 0n) return 'start_time_unix_nano is missing (0)'
  if (end === 0n) return 'end_time_unix_nano is missing (0)'
  if (start > MAX_STORABLE_UNIX_NANO || end > MAX_STORABLE_UNIX_NANO)
    return 'a timestamp is past 2262-04-11, the latest storable instant'
  if (end < start) return 'end_time_unix_nano is before start_time_unix_nano'
  const now = BigInt(Math.trunc(nowMs)) * NANOS_PER_MS
  if (start < now - BigInt(limits.maxAgeMs) * NANOS_PER_MS)
    return `start_time_unix_nano is more than ${describeMs(limits.maxAgeMs)} in the past`
  if (end > now + BigInt(limits.maxFutureMs) * NANOS_PER_MS)
    return `a timestamp is more than ${describeMs(limits.maxFutureMs)} in the future`
  if (nameLength > limits.nameLength) return `name is longer than ${limits.nameLength} characters`
  if (attributeCount > limits.attributeCount)
    return `more than ${limits.attributeCount} attributes (${attributeCount})`
  if (eventCount > limits.eventCount) return `more than ${limits.eventCount} events (${eventCount})`
  if (linkCount > limits.linkCount) return `more than ${limits.linkCount} links (${linkCount})`
  return undefined
}

/** The reasons of the checks after `spanHeadViolation`, in `spanLimitViolation`'s order. */
export const spanLimitMessage = {
  eventAttributeCount: (limits: SpanLimits, count: number) =>
    `an event has more than ${limits.eventAttributeCount} attributes (${count})`,
  linkAttributeCount: (limits: SpanLimits, count: number) =>
    `a link has more than ${limits.linkAttributeCount} attributes (${count})`,
  longValue: (where: 'attribute' | 'event attribute' | 'link attribute', key: string, max: number) =>
    `${where} "${clip(key)}" has a value longer than ${max}`,
}

/**
 * Why a GenAI content log record may not be stored, or undefined when it may. The record
 * becomes a span event (its attributes plus the body under `body`), so it is held to the
 * event limits of `limits`: attributes per event (the body counting as one), value length
 * for every attribute and for the body (each string inside a structured body), name length;
 * and a time storage can hold. Rejected whole, as spans are, never truncated.
 */
export function logRecordLimitViolation(
  record: OtlpLogRecord,
  name: string,
  limits: SpanLimits,
): string | undefined {
  if (record.timeUnixNano > MAX_STORABLE_UNIX_NANO || record.observedTimeUnixNano > MAX_STORABLE_UNIX_NANO)
    return 'a timestamp is past 2262-04-11, the latest storable instant'
  if (name.length > limits.nameLength) return `event name is longer than ${limits.nameLength} characters`
  const count = record.attributes.length + (record.body.type === 'empty' ? 0 : 1)
  if (count > limits.eventAttributeCount)
    return `more than ${limits.eventAttributeCount} attributes, the body included (${count})`
  const max = limits.attributeValueLength
  if (isLonger(record.body, max)) return `the body has a value longer than ${max}`
  const key = longValueKey(record.attributes, max)
  if (key !== undefined) return `attribute "${clip(key)}" has a value longer than ${max}`
  return undefined
}

/** The key of the first attribute whose value (or a string inside it) is longer than `max`. */
function longValueKey(attributes: readonly OtlpKeyValue[], max: number): string | undefined {
  for (const { key, value } of attributes) if (isLonger(value, max)) return key
  return undefined
}

function isLonger(value: OtlpAnyValue, max: number): boolean {
  switch (value.type) {
    case 'string':
      return value.value.length > max
    case 'bytes':
      return value.value.byteLength > max
    case 'array':
      return value.value.some((item) => isLonger(item, max))
    case 'kvlist':
      return value.value.some((entry) => isLonger(entry.value, max))
    default:
      return false
  }
}

/** A key as quoted in a rejection message: a hostile key must not make the message huge. */
function clip(key: string): string {
  return key.length > 64 ? `${key.slice(0, 64)}…` : key
}

function describeMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} ${ms === 86_400_000 ? 'day' : 'days'}`
  if (ms % 60_000 === 0) return `${ms / 60_000} ${ms === 60_000 ? 'minute' : 'minutes'}`
  return `${ms} ms`
}
