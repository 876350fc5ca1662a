import { Buffer } from 'node:buffer'
import { bytesToHex } from './hex.ts'
import type {
  OtlpAnyValue,
  OtlpExportTraceRequest,
  OtlpKeyValue,
  OtlpResourceSpans,
  OtlpScopeSpans,
  OtlpSpan,
  OtlpSpanEvent,
  OtlpSpanLink,
} from './otlp-types.ts'

type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

/**
 * Encodes a request as OTLP/JSON, the way OTLP exporters send it: lowerCamelCase keys, hex ids,
 * 64-bit integers as decimal strings, enums as integers, fields at their default omitted.
 * For tools, tests and benchmarks; the receiver itself only ever decodes JSON.
 */
export function encodeExportTraceRequestJson(request: OtlpExportTraceRequest): string {
  return JSON.stringify({ resourceSpans: request.resourceSpans.map(resourceSpansJson) })
}

function resourceSpansJson(resourceSpans: OtlpResourceSpans): Json {
  const { resource } = resourceSpans
  const resourceJson: { [key: string]: Json } = { attributes: resource.attributes.map(keyValueJson) }
  if (resource.droppedAttributesCount !== 0)
    resourceJson.droppedAttributesCount = resource.droppedAttributesCount
  if (resource.entityRefs.length !== 0) {
    resourceJson.entityRefs = resource.entityRefs.map((ref) => ({
      schemaUrl: ref.schemaUrl,
      type: ref.type,
      idKeys: ref.idKeys,
      descriptionKeys: ref.descriptionKeys,
    }))
  }
  const out: { [key: string]: Json } = {
    resource: resourceJson,
    scopeSpans: resourceSpans.scopeSpans.map(scopeSpansJson),
  }
  if (resourceSpans.schemaUrl !== '') out.schemaUrl = resourceSpans.schemaUrl
  return out
}

function scopeSpansJson(scopeSpans: OtlpScopeSpans): Json {
  const { scope } = scopeSpans
  const scopeJson: { [key: string]: Json } = { name: scope.name }
  if (scope.version !== '') scopeJson.version = scope.version
  if (scope.attributes.length !== 0) scopeJson.attributes = scope.attributes.map(keyValueJson)
  if (scope.droppedAttributesCount !== 0) scopeJson.droppedAttributesCount = scope.droppedAttributesCount
  const out: { [key: string]: Json } = { scope: scopeJson, spans: scopeSpans.spans.map(spanJson) }
  if (scopeSpans.schemaUrl !== '') out.schemaUrl = scopeSpans.schemaUrl
  return out
}

function spanJson(span: OtlpSpan): Json {
  const out: { [key: string]: Json } = { traceId: bytesToHex(span.traceId), spanId: bytesToHex(span.spanId) }
  if (span.traceState !== '') out.traceState = span.traceState
  if (span.parentSpanId.length !== 0) out.parentSpanId = bytesToHex(span.parentSpanId)
  if (span.flags !== 0) out.flags = span.flags
  out.name = span.name
  if (span.kind !== 0) out.kind = span.kind
  out.startTimeUnixNano = span.startTimeUnixNano.toString()
  out.endTimeUnixNano = span.endTimeUnixNano.toString()
  if (span.attributes.length !== 0) out.attributes = span.attributes.map(keyValueJson)
  if (span.droppedAttributesCount !== 0) out.droppedAttributesCount = span.droppedAttributesCount
  if (span.events.length !== 0) out.events = span.events.map(eventJson)
  if (span.droppedEventsCount !== 0) out.droppedEventsCount = span.droppedEventsCount
  if (span.links.length !== 0) out.links = span.links.map(linkJson)
  if (span.droppedLinksCount !== 0) out.droppedLinksCount = span.droppedLinksCount
  const status: { [key: string]: Json } = {}
  if (span.status.message !== '') status.message = span.status.message
  if (span.status.code !== 0) status.code = span.status.code
  out.status = status
  return out
}

function eventJson(event: OtlpSpanEvent): Json {
  const out: { [key: string]: Json } = { timeUnixNano: event.timeUnixNano.toString(), name: event.name }
  if (event.attributes.length !== 0) out.attributes = event.attributes.map(keyValueJson)
  if (event.droppedAttributesCount !== 0) out.droppedAttributesCount = event.droppedAttributesCount
  return out
}

function linkJson(link: OtlpSpanLink): Json {
  const out: { [key: string]: Json } = { traceId: bytesToHex(link.traceId), spanId: bytesToHex(link.spanId) }
  if (link.traceState !== '') out.traceState = link.traceState
  if (link.attributes.length !== 0) out.attributes = link.attributes.map(keyValueJson)
  if (link.droppedAttributesCount !== 0) out.droppedAttributesCount = link.droppedAttributesCount
  if (link.flags !== 0) out.flags = link.flags
  return out
}

function keyValueJson(keyValue: OtlpKeyValue): Json {
  return { key: keyValue.key, value: anyValueJson(keyValue.value) }
}

function anyValueJson(value: OtlpAnyValue): Json {
  switch (value.type) {
    case 'string':
      return { stringValue: value.value }
    case 'bool':
      return { boolValue: value.value }
    case 'int':
      return { intValue: value.value.toString() }
    case 'double':
      // JSON has no NaN or infinities; protobuf JSON spells them as strings.
      return { doubleValue: Number.isFinite(value.value) ? value.value : String(value.value) }
    case 'array':
      return { arrayValue: { values: value.value.map(anyValueJson) } }
    case 'kvlist':
      return { kvlistValue: { values: value.value.map(keyValueJson) } }
    case 'bytes':
      return {
        bytesValue: Buffer.from(value.value.buffer, value.value.byteOffset, value.value.byteLength).toString(
          'base64',
        ),
      }
    case 'empty':
      return {}
  }
}
