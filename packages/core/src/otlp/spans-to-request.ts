import { exactIntegerValue, isExactInteger } from '../exact-integer.ts'
import { APPLICATION_ID_ATTRIBUTE, type Attributes, type AttributeValue, type Span } from '../span-model.ts'
import { hexToBytes } from './hex.ts'
import {
  EMPTY_BYTES,
  type OtlpAnyValue,
  type OtlpExportTraceRequest,
  type OtlpKeyValue,
  type OtlpResourceSpans,
  type OtlpScopeSpans,
  type OtlpSpan,
} from './otlp-types.ts'

/**
 * Turns normalized spans back into an OTLP request, the form spans travel the Kafka
 * topic in (the Collector's `otlp_proto` encoding). Spans of one application and one
 * resource share a ResourceSpans, stamped with `spansift.application.id`; spans of one
 * scope share a ScopeSpans. `normalizeExportTraceRequest` of the result gives the
 * spans back (ints that JSON holds as numbers come back as ints, doubles as doubles).
 */
export function spansToExportRequest(spans: readonly Span[]): OtlpExportTraceRequest {
  const resources = new Map<
    string,
    { resourceSpans: OtlpResourceSpans; scopes: Map<string, OtlpScopeSpans> }
  >()
  const resourceKeys = new WeakMap<Attributes, string>()
  const resourceSpans: OtlpResourceSpans[] = []
  for (const span of spans) {
    // Spans of one request share their resource attributes object, so its key is computed once.
    let attributesKey = resourceKeys.get(span.resourceAttributes)
    if (attributesKey === undefined) {
      attributesKey = JSON.stringify(span.resourceAttributes)
      resourceKeys.set(span.resourceAttributes, attributesKey)
    }
    const resourceKey = `${span.applicationId}\u0000${attributesKey}`
    let resource = resources.get(resourceKey)
    if (resource === undefined) {
      const attributes = toKeyValues(span.resourceAttributes)
      attributes.push({ key: APPLICATION_ID_ATTRIBUTE, value: { type: 'string', value: span.applicationId } })
      resource = {
        resourceSpans: {
          resource: { attributes, droppedAttributesCount: 0, entityRefs: [] },
          scopeSpans: [],
          schemaUrl: '',
        },
        scopes: new Map(),
      }
      resources.set(resourceKey, resource)
      resourceSpans.push(resource.resourceSpans)
    }
    const scopeKey = `${span.scopeName}\u0000${span.scopeVersion}`
    let scope = resource.scopes.get(scopeKey)
    if (scope === undefined) {
      scope = {
        scope: {
          name: span.scopeName,
          version: span.scopeVersion,
          attributes: [],
          droppedAttributesCount: 0,
        },
        spans: [],
        schemaUrl: '',
      }
      resource.scopes.set(scopeKey, scope)
      resource.resourceSpans.scopeSpans.push(scope)
    }
    scope.spans.push(toOtlpSpan(span))
  }
  return { resourceSpans }
}

function toOtlpSpan(span: Span): OtlpSpan {
  return {
    traceId: idBytes(span.traceId),
    spanId: idBytes(span.spanId),
    traceState: span.traceState,
    parentSpanId: span.parentSpanId === '' ? EMPTY_BYTES : idBytes(span.parentSpanId),
    flags: span.flags,
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: span.startTimeUnixNano,
    endTimeUnixNano: span.endTimeUnixNano,
    attributes: toKeyValues(span.attributes),
    droppedAttributesCount: 0,
    events: span.events.map((event) => ({
      timeUnixNano: event.timeUnixNano,
      name: event.name,
      attributes: toKeyValues(event.attributes),
      droppedAttributesCount: 0,
    })),
    droppedEventsCount: 0,
    links: span.links.map((link) => ({
      traceId: idBytes(link.traceId),
      spanId: idBytes(link.spanId),
      traceState: link.traceState,
      attributes: toKeyValues(link.attributes),
      droppedAttributesCount: 0,
      flags: 0,
    })),
    droppedLinksCount: 0,
    status: { code: span.statusCode, message: span.statusMessage },
  }
}

function idBytes(hex: string): Uint8Array {
  return hexToBytes(hex) ?? EMPTY_BYTES
}

/** Attributes as OTLP key-values (the inverse of `toAttributes`). */
export function toKeyValues(attributes: Attributes): OtlpKeyValue[] {
  const keyValues: OtlpKeyValue[] = []
  for (const key in attributes) keyValues.push({ key, value: toAnyValue(attributes[key] as AttributeValue) })
  return keyValues
}

/** An attribute value as an OTLP AnyValue (the inverse of `toAttributeValue`). */
export function toAnyValue(value: AttributeValue): OtlpAnyValue {
  if (value === null) return { type: 'empty', value: null }
  switch (typeof value) {
    case 'string':
      return { type: 'string', value }
    case 'boolean':
      return { type: 'bool', value }
    case 'number':
      return Number.isInteger(value) ? { type: 'int', value: BigInt(value) } : { type: 'double', value }
    default:
      if (isExactInteger(value)) return { type: 'int', value: exactIntegerValue(value) }
      if (Array.isArray(value)) return { type: 'array', value: value.map(toAnyValue) }
      return { type: 'kvlist', value: toKeyValues(value) }
  }
}
