import {
  APPLICATION_ID_ATTRIBUTE,
  type Attributes,
  type Span,
  type SpanEvent,
  type SpanKind,
  type SpanLink,
  type StatusCode,
} from '../span-model.ts'
import { toAttributes } from './attributes.ts'
import { bytesToHex, isAllZero } from './hex.ts'
import type {
  OtlpExportTraceRequest,
  OtlpKeyValue,
  OtlpSpan,
  OtlpSpanEvent,
  OtlpSpanLink,
} from './otlp-types.ts'
import { type SpanLimits, spanLimitViolation } from './span-limits.ts'
import { SpanRejections } from './span-rejections.ts'

/** How normalization decides which application owns the spans. */
export interface NormalizeOptions {
  /**
   * The application whose API key sent the request. When given it is authoritative: a
   * `spansift.application.id` resource attribute sent by the client is ignored, so a client
   * cannot file spans under another application. When absent (spans coming back from the
   * bus), the resource attribute the bus stamped (`spansToExportRequest`) is used.
   */
  applicationId?: string
  /**
   * The per-span limits and time window spans must respect (the receivers pass them);
   * spans over them are rejected like spans with bad ids. None: ids are checked only.
   */
  limits?: SpanLimits
  /** The current time in Unix ms, for the time window (`Date.now()` by default). */
  nowMs?: number
}

/** The spans that passed validation, and an account of those that did not. */
export interface NormalizeResult {
  spans: Span[]
  /** Spans left out; the OTLP partial-success `rejected_spans`. */
  rejectedSpans: number
  /** Why, for the partial-success `error_message`: '' when nothing was rejected. */
  rejectionMessage: string
}

/**
 * Turns a decoded request into span-model spans. Spans OTLP calls invalid (trace id not 16
 * bytes or all zeros, span id not 8 bytes or all zeros, parent span id neither empty nor
 * 8 bytes), spans over `options.limits` (see `spanLimitViolation`) and spans without an
 * application id are rejected, counted and explained, never thrown: OTLP wants the rest
 * of the batch accepted (partial success).
 *
 * Spans of one resource share one frozen `resourceAttributes` object: copying it per span
 * would cost more than the rest of the span. Copy it before changing it.
 */
export function normalizeExportTraceRequest(
  request: OtlpExportTraceRequest,
  options: NormalizeOptions = {},
): NormalizeResult {
  const spans: Span[] = []
  const rejections = new SpanRejections()
  const forcedApplicationId = options.applicationId
  const limits = options.limits
  const nowMs = options.nowMs ?? Date.now()
  for (const resourceSpans of request.resourceSpans) {
    const resourceKeyValues = resourceSpans.resource.attributes
    const stamp = stringAttribute(resourceKeyValues, APPLICATION_ID_ATTRIBUTE)
    const applicationId = forcedApplicationId ?? stamp ?? ''
    const serviceName = stringAttribute(resourceKeyValues, 'service.name') ?? ''
    const resourceAttributes = Object.freeze(toAttributes(resourceKeyValues, APPLICATION_ID_ATTRIBUTE))
    for (const scopeSpans of resourceSpans.scopeSpans) {
      if (applicationId === '') {
        rejections.add(
          forcedApplicationId === undefined
            ? `no application id (resource attribute ${APPLICATION_ID_ATTRIBUTE} missing)`
            : 'no application id (empty)',
          scopeSpans.spans.length,
        )
        continue
      }
      const scopeName = scopeSpans.scope.name
      const scopeVersion = scopeSpans.scope.version
      for (const span of scopeSpans.spans) {
        const problem = validateIds(span) ?? (limits && spanLimitViolation(span, limits, nowMs))
        if (problem !== undefined) {
          rejections.add(problem, 1)
          continue
        }
        spans.push(toSpan(span, applicationId, serviceName, scopeName, scopeVersion, resourceAttributes))
      }
    }
  }
  return { spans, rejectedSpans: rejections.total, rejectionMessage: rejections.message() }
}

function toSpan(
  span: OtlpSpan,
  applicationId: string,
  serviceName: string,
  scopeName: string,
  scopeVersion: string,
  resourceAttributes: Attributes,
): Span {
  const start = span.startTimeUnixNano
  const end = span.endTimeUnixNano
  const parent = span.parentSpanId
  return {
    applicationId,
    traceId: bytesToHex(span.traceId),
    spanId: bytesToHex(span.spanId),
    // An all-zero parent is how some exporters spell "no parent".
    parentSpanId: parent.length === 0 || isAllZero(parent) ? '' : bytesToHex(parent),
    traceState: span.traceState,
    name: span.name,
    kind: toSpanKind(span.kind),
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    durationNano: end > start ? end - start : 0n,
    statusCode: toStatusCode(span.status.code),
    statusMessage: span.status.message,
    serviceName,
    scopeName,
    scopeVersion,
    resourceAttributes,
    attributes: toAttributes(span.attributes),
    events: span.events.length === 0 ? [] : span.events.map(toEvent),
    links: span.links.length === 0 ? [] : span.links.map(toLink),
    flags: span.flags,
  }
}

/** Why OTLP considers the span's ids invalid, or undefined when they are fine. */
function validateIds(span: OtlpSpan): string | undefined {
  return idsViolation(span.traceId, span.spanId, span.parentSpanId)
}

/** Why OTLP considers these span ids invalid, or undefined when they are fine (also used on the wire form). */
export function idsViolation(
  traceId: Uint8Array,
  spanId: Uint8Array,
  parent: Uint8Array,
): string | undefined {
  if (traceId.length !== 16) return `trace_id must be 16 bytes (got ${traceId.length})`
  if (isAllZero(traceId)) return 'trace_id must not be all zeros'
  if (spanId.length !== 8) return `span_id must be 8 bytes (got ${spanId.length})`
  if (isAllZero(spanId)) return 'span_id must not be all zeros'
  if (parent.length !== 0 && parent.length !== 8)
    return `parent_span_id must be empty or 8 bytes (got ${parent.length})`
  return undefined
}

function toEvent(event: OtlpSpanEvent): SpanEvent {
  return { timeUnixNano: event.timeUnixNano, name: event.name, attributes: toAttributes(event.attributes) }
}

function toLink(link: OtlpSpanLink): SpanLink {
  return {
    traceId: bytesToHex(link.traceId),
    spanId: bytesToHex(link.spanId),
    traceState: link.traceState,
    attributes: toAttributes(link.attributes),
  }
}

/** OTLP enums are open: a kind this version does not know is treated as unspecified. */
function toSpanKind(kind: number): SpanKind {
  return kind >= 0 && kind <= 5 ? (kind as SpanKind) : 0
}

/** An unknown status code is treated as unset, the OTLP default. */
function toStatusCode(code: number): StatusCode {
  return code === 1 || code === 2 ? code : 0
}

/** The value of a string attribute, or undefined when absent, empty or not a string. */
function stringAttribute(keyValues: readonly OtlpKeyValue[], key: string): string | undefined {
  let found: string | undefined
  for (const keyValue of keyValues) {
    if (keyValue.key !== key) continue
    // Keys are unique in valid OTLP; if one repeats, the last wins, as in the attribute record.
    found = keyValue.value.type === 'string' && keyValue.value.value !== '' ? keyValue.value.value : undefined
  }
  return found
}
