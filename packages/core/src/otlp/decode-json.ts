import { Buffer } from 'node:buffer'
import { OtlpDecodeError } from './decode-error.ts'
import { hexToBytes } from './hex.ts'
import {
  emptyLogRecord,
  emptyResourceLogs,
  emptyScopeLogs,
  type OtlpExportLogsRequest,
  type OtlpLogRecord,
  type OtlpResourceLogs,
  type OtlpScopeLogs,
} from './otlp-logs-types.ts'
import {
  EMPTY_BYTES,
  emptyResource,
  emptyResourceSpans,
  emptyScope,
  emptyScopeSpans,
  emptySpan,
  emptySpanEvent,
  emptySpanLink,
  type OtlpAnyValue,
  type OtlpEntityRef,
  type OtlpExportTraceRequest,
  type OtlpInstrumentationScope,
  type OtlpKeyValue,
  type OtlpResource,
  type OtlpResourceSpans,
  type OtlpScopeSpans,
  type OtlpSpan,
  type OtlpSpanEvent,
  type OtlpSpanLink,
  type OtlpStatus,
} from './otlp-types.ts'
import { MAX_NESTING_DEPTH } from './protobuf-reader.ts'

/*
 * OTLP/JSON is the protobuf JSON mapping with the OTLP exceptions
 * (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
 *  - trace and span ids are hex strings (any case), not base64;
 *  - enums are integers; names (`SPAN_KIND_SERVER`) are accepted too, as the mapping allows;
 *  - 64-bit integers may be decimal strings or numbers;
 *  - keys are lowerCamelCase; the original snake_case names are accepted too, as protobuf
 *    JSON parsers do;
 *  - unknown fields are ignored, and `null` means the field's default.
 * Each object's keys are visited once with a `switch` (JSON.parse interns keys, so each case
 * is a pointer comparison), which accepts both spellings and skips unknown keys in one pass;
 * KeyValue, the most frequent object, has two single-spelling fields and is read directly.
 */

/** A shape error deep in the document; `segments` collects the path on the way out. */
class ShapeError extends Error {
  readonly segments: string[] = []
}

function fail(message: string): never {
  throw new ShapeError(message)
}

/** Adds one path segment to a shape error passing through. */
function rethrowAt(error: unknown, segment: string): never {
  if (error instanceof ShapeError) error.segments.push(segment)
  throw error
}

const SPAN_KIND_BY_NAME: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
}

const STATUS_CODE_BY_NAME: Record<string, number> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
}

const EMPTY_VALUE: OtlpAnyValue = Object.freeze({ type: 'empty', value: null })

const UINT64_MAX = 0xffffffffffffffffn
const INT64_MIN = -0x8000000000000000n
const INT64_MAX = 0x7fffffffffffffffn

/**
 * Decodes an OTLP/JSON `ExportTraceServiceRequest` (the `application/json` body of
 * `POST /v1/traces`) into the same typed request the protobuf decoder produces.
 *
 * @throws OtlpDecodeError on malformed JSON, or JSON whose shape is not the request's; the
 *   message names the offending path, e.g. `resourceSpans[0].scopeSpans[0].spans[2].traceId`.
 */
/** A `\uD800`–`\uDFFF` escape: half of a pair, or a lone surrogate JSON.parse lets through. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/

/**
 * Replaces lone surrogates (as `\uD800` alone decodes) with U+FFFD in every string, key or
 * value, as a UTF-8 protobuf decoder does with invalid bytes. A lone surrogate cannot be
 * written as UTF-8: stored, it would make the span's JSON unreadable to ClickHouse. Pairs
 * (an escaped emoji) are left as they are.
 */
function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return value.toWellFormed()
  if (Array.isArray(value)) return value.map(wellFormed)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key.toWellFormed()] = wellFormed(item)
    return out
  }
  return value
}

export function decodeExportTraceRequestJson(text: string): OtlpExportTraceRequest {
  return decodeDocument(text, 'trace', decodeRequest)
}

/**
 * Decodes an OTLP/JSON `ExportLogsServiceRequest` (the `application/json` body of
 * `POST /v1/logs`) into the same typed request the protobuf decoder produces, with the same
 * OTLP/JSON rules as traces (hex ids, integer or named enums, both key spellings).
 *
 * @throws OtlpDecodeError on malformed JSON or a shape that is not the request's, naming the path.
 */
export function decodeExportLogsRequestJson(text: string): OtlpExportLogsRequest {
  return decodeDocument(text, 'logs', decodeLogsRequest)
}

function decodeDocument<T>(text: string, signal: string, decode: (document: unknown) => T): T {
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw new OtlpDecodeError(`malformed JSON: ${(error as Error).message}`)
  }
  // Only an escape can put a lone surrogate in a string (raw text is UTF-8 decoded).
  if (SURROGATE_ESCAPE.test(text)) document = wellFormed(document)
  try {
    return decode(document)
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error
    const path = error.segments.reverse().join('').replace(/^\./, '')
    throw new OtlpDecodeError(
      `invalid OTLP/JSON ${signal} request${path === '' ? '' : ` at ${path}`}: ${error.message}`,
    )
  }
}

function decodeLogsRequest(document: unknown): OtlpExportLogsRequest {
  const object = asObject(document, 'ExportLogsServiceRequest')
  let resourceLogs: OtlpResourceLogs[] = []
  for (const key in object) {
    if ((key === 'resourceLogs' || key === 'resource_logs') && object[key] !== null) {
      resourceLogs = decodeArray(object[key], `.${key}`, decodeResourceLogs)
    }
  }
  return { resourceLogs }
}

function decodeResourceLogs(value: unknown): OtlpResourceLogs {
  const object = asObject(value, 'ResourceLogs')
  const out = emptyResourceLogs()
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'resource':
          out.resource = decodeResource(field)
          break
        case 'scopeLogs':
        case 'scope_logs':
          out.scopeLogs = decodeArray(field, '', decodeScopeLogs)
          break
        case 'schemaUrl':
        case 'schema_url':
          out.schemaUrl = asString(field)
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return out
}

function decodeScopeLogs(value: unknown): OtlpScopeLogs {
  const object = asObject(value, 'ScopeLogs')
  const out = emptyScopeLogs()
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'scope':
          out.scope = decodeScope(field)
          break
        case 'logRecords':
        case 'log_records':
          out.logRecords = decodeArray(field, '', decodeLogRecord)
          break
        case 'schemaUrl':
        case 'schema_url':
          out.schemaUrl = asString(field)
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return out
}

/** SEVERITY_NUMBER_UNSPECIFIED … SEVERITY_NUMBER_FATAL4, 0 … 24. */
const SEVERITY_NUMBER_BY_NAME: Record<string, number> = Object.fromEntries([
  ['SEVERITY_NUMBER_UNSPECIFIED', 0],
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((level, i) =>
    ['', '2', '3', '4'].map((suffix, j) => [`SEVERITY_NUMBER_${level}${suffix}`, i * 4 + j + 1]),
  ),
])

function decodeLogRecord(value: unknown): OtlpLogRecord {
  const object = asObject(value, 'LogRecord')
  const out = emptyLogRecord()
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'timeUnixNano':
        case 'time_unix_nano':
          out.timeUnixNano = asFixed64(field)
          break
        case 'observedTimeUnixNano':
        case 'observed_time_unix_nano':
          out.observedTimeUnixNano = asFixed64(field)
          break
        case 'severityNumber':
        case 'severity_number':
          out.severityNumber = asEnum(field, SEVERITY_NUMBER_BY_NAME)
          break
        case 'severityText':
        case 'severity_text':
          out.severityText = asString(field)
          break
        case 'body':
          out.body = decodeAnyValue(field, 0)
          break
        case 'attributes':
          out.attributes = decodeArray(field, '', decodeKeyValue)
          break
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          out.droppedAttributesCount = asUint32(field)
          break
        case 'flags':
          out.flags = asUint32(field)
          break
        case 'traceId':
        case 'trace_id':
          out.traceId = asHexId(field)
          break
        case 'spanId':
        case 'span_id':
          out.spanId = asHexId(field)
          break
        case 'eventName':
        case 'event_name':
          out.eventName = asString(field)
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return out
}

function decodeRequest(document: unknown): OtlpExportTraceRequest {
  const object = asObject(document, 'ExportTraceServiceRequest')
  let resourceSpans: OtlpResourceSpans[] = []
  for (const key in object) {
    if ((key === 'resourceSpans' || key === 'resource_spans') && object[key] !== null) {
      resourceSpans = decodeArray(object[key], `.${key}`, decodeResourceSpans)
    }
  }
  return { resourceSpans }
}

function decodeResourceSpans(value: unknown): OtlpResourceSpans {
  const object = asObject(value, 'ResourceSpans')
  const out: OtlpResourceSpans = emptyResourceSpans()
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'resource':
          out.resource = decodeResource(field)
          break
        case 'scopeSpans':
        case 'scope_spans':
          out.scopeSpans = decodeArray(field, '', decodeScopeSpans)
          break
        case 'schemaUrl':
        case 'schema_url':
          out.schemaUrl = asString(field)
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return out
}

function decodeResource(value: unknown): OtlpResource {
  const object = asObject(value, 'Resource')
  const out: OtlpResource = emptyResource()
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'attributes':
          out.attributes = decodeArray(field, '', decodeKeyValue)
          break
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          out.droppedAttributesCount = asUint32(field)
          break
        case 'entityRefs':
        case 'entity_refs':
          out.entityRefs = decodeArray(field, '', decodeEntityRef)
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return out
}

function decodeEntityRef(value: unknown): OtlpEntityRef {
  const object = asObject(value, 'EntityRef')
  const out: OtlpEntityRef = { schemaUrl: '', type: '', idKeys: [], descriptionKeys: [] }
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'schemaUrl':
        case 'schema_url':
          out.schemaUrl = asString(field)
          break
        case 'type':
          out.type = asString(field)
          break
        case 'idKeys':
        case 'id_keys':
          out.idKeys = decodeArray(field, '', asString)
          break
        case 'descriptionKeys':
        case 'description_keys':
          out.descriptionKeys = decodeArray(field, '', asString)
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return out
}

function decodeScopeSpans(value: unknown): OtlpScopeSpans {
  const object = asObject(value, 'ScopeSpans')
  const out: OtlpScopeSpans = emptyScopeSpans()
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'scope':
          out.scope = decodeScope(field)
          break
        case 'spans':
          out.spans = decodeArray(field, '', decodeSpan)
          break
        case 'schemaUrl':
        case 'schema_url':
          out.schemaUrl = asString(field)
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return out
}

function decodeScope(value: unknown): OtlpInstrumentationScope {
  const object = asObject(value, 'InstrumentationScope')
  const out: OtlpInstrumentationScope = emptyScope()
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'name':
          out.name = asString(field)
          break
        case 'version':
          out.version = asString(field)
          break
        case 'attributes':
          out.attributes = decodeArray(field, '', decodeKeyValue)
          break
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          out.droppedAttributesCount = asUint32(field)
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return out
}

function decodeSpan(value: unknown): OtlpSpan {
  const object = asObject(value, 'Span')
  const span: OtlpSpan = emptySpan()
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'traceId':
        case 'trace_id':
          span.traceId = asHexId(field)
          break
        case 'spanId':
        case 'span_id':
          span.spanId = asHexId(field)
          break
        case 'traceState':
        case 'trace_state':
          span.traceState = asString(field)
          break
        case 'parentSpanId':
        case 'parent_span_id':
          span.parentSpanId = asHexId(field)
          break
        case 'flags':
          span.flags = asUint32(field)
          break
        case 'name':
          span.name = asString(field)
          break
        case 'kind':
          span.kind = asEnum(field, SPAN_KIND_BY_NAME)
          break
        case 'startTimeUnixNano':
        case 'start_time_unix_nano':
          span.startTimeUnixNano = asFixed64(field)
          break
        case 'endTimeUnixNano':
        case 'end_time_unix_nano':
          span.endTimeUnixNano = asFixed64(field)
          break
        case 'attributes':
          span.attributes = decodeArray(field, '', decodeKeyValue)
          break
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          span.droppedAttributesCount = asUint32(field)
          break
        case 'events':
          span.events = decodeArray(field, '', decodeEvent)
          break
        case 'droppedEventsCount':
        case 'dropped_events_count':
          span.droppedEventsCount = asUint32(field)
          break
        case 'links':
          span.links = decodeArray(field, '', decodeLink)
          break
        case 'droppedLinksCount':
        case 'dropped_links_count':
          span.droppedLinksCount = asUint32(field)
          break
        case 'status':
          span.status = decodeStatus(field)
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return span
}

function decodeEvent(value: unknown): OtlpSpanEvent {
  const object = asObject(value, 'Span.Event')
  const out: OtlpSpanEvent = emptySpanEvent()
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'timeUnixNano':
        case 'time_unix_nano':
          out.timeUnixNano = asFixed64(field)
          break
        case 'name':
          out.name = asString(field)
          break
        case 'attributes':
          out.attributes = decodeArray(field, '', decodeKeyValue)
          break
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          out.droppedAttributesCount = asUint32(field)
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return out
}

function decodeLink(value: unknown): OtlpSpanLink {
  const object = asObject(value, 'Span.Link')
  const out: OtlpSpanLink = emptySpanLink()
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'traceId':
        case 'trace_id':
          out.traceId = asHexId(field)
          break
        case 'spanId':
        case 'span_id':
          out.spanId = asHexId(field)
          break
        case 'traceState':
        case 'trace_state':
          out.traceState = asString(field)
          break
        case 'attributes':
          out.attributes = decodeArray(field, '', decodeKeyValue)
          break
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          out.droppedAttributesCount = asUint32(field)
          break
        case 'flags':
          out.flags = asUint32(field)
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return out
}

function decodeStatus(value: unknown): OtlpStatus {
  const object = asObject(value, 'Status')
  const out: OtlpStatus = { message: '', code: 0 }
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'message':
          out.message = asString(field)
          break
        case 'code':
          out.code = asEnum(field, STATUS_CODE_BY_NAME)
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return out
}

function decodeKeyValue(value: unknown, depth = 0): OtlpKeyValue {
  const object = asObject(value, 'KeyValue')
  // Two fields with one spelling each: direct reads beat enumerating the keys.
  const rawKey = object.key
  const rawValue = object.value
  let key = ''
  let anyValue = EMPTY_VALUE
  try {
    if (rawKey !== undefined && rawKey !== null) key = asString(rawKey)
  } catch (error) {
    rethrowAt(error, '.key')
  }
  try {
    if (rawValue !== undefined && rawValue !== null) anyValue = decodeAnyValue(rawValue, depth)
  } catch (error) {
    rethrowAt(error, '.value')
  }
  return { key, value: anyValue }
}

function decodeAnyValue(value: unknown, depth: number): OtlpAnyValue {
  if (depth > MAX_NESTING_DEPTH) fail(`AnyValue nested deeper than ${MAX_NESTING_DEPTH}`)
  const object = asObject(value, 'AnyValue')
  // A oneof: if a producer sets several members anyway, the last one wins.
  let out = EMPTY_VALUE
  for (const key in object) {
    const field = object[key]
    if (field === null) continue
    try {
      switch (key) {
        case 'stringValue':
        case 'string_value':
          out = { type: 'string', value: asString(field) }
          break
        case 'boolValue':
        case 'bool_value':
          if (typeof field !== 'boolean') fail('expected true or false')
          out = { type: 'bool', value: field }
          break
        case 'intValue':
        case 'int_value':
          out = { type: 'int', value: asInt64(field) }
          break
        case 'doubleValue':
        case 'double_value':
          out = { type: 'double', value: asDouble(field) }
          break
        case 'arrayValue':
        case 'array_value':
          out = {
            type: 'array',
            value: decodeValues(field, 'ArrayValue', (item) => decodeAnyValue(item, depth + 1)),
          }
          break
        case 'kvlistValue':
        case 'kvlist_value':
          out = {
            type: 'kvlist',
            value: decodeValues(field, 'KeyValueList', (item) => decodeKeyValue(item, depth + 1)),
          }
          break
        case 'bytesValue':
        case 'bytes_value':
          out = { type: 'bytes', value: asBase64(field) }
          break
      }
    } catch (error) {
      rethrowAt(error, `.${key}`)
    }
  }
  return out
}

/** The `values` array of an ArrayValue or KeyValueList message. */
function decodeValues<T>(value: unknown, what: string, decodeItem: (item: unknown) => T): T[] {
  const object = asObject(value, what)
  let out: T[] = []
  for (const key in object) {
    if (key === 'values' && object[key] !== null) out = decodeArray(object[key], '.values', decodeItem)
  }
  return out
}

function decodeArray<T>(value: unknown, segment: string, decodeItem: (item: unknown) => T): T[] {
  if (!Array.isArray(value)) {
    if (segment === '') fail('expected an array')
    rethrowAt(new ShapeError('expected an array'), segment)
  }
  const out: T[] = new Array(value.length)
  for (let i = 0; i < value.length; i++) {
    try {
      out[i] = decodeItem(value[i])
    } catch (error) {
      rethrowAt(error, `${segment}[${i}]`)
    }
  }
  return out
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(`expected a JSON object (${what})`)
  return value as Record<string, unknown>
}

function asString(value: unknown): string {
  if (typeof value !== 'string') fail('expected a string')
  return value
}

/** A trace or span id: hex of any case; '' is the empty id. */
function asHexId(value: unknown): Uint8Array {
  if (typeof value !== 'string') fail('expected a hex string')
  if (value === '') return EMPTY_BYTES
  const bytes = hexToBytes(value)
  if (bytes === undefined) fail(`expected a hex string, got ${JSON.stringify(truncate(value))}`)
  return bytes
}

/** A uint32: a non-negative integer, as a number or a decimal string. */
function asUint32(value: unknown): number {
  const n = typeof value === 'string' ? decimalStringToNumber(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) fail('expected a uint32')
  return n
}

/** An enum: its integer, or its name. Integers outside the enum are kept (OTLP enums are open). */
function asEnum(value: unknown, byName: Record<string, number>): number {
  if (typeof value === 'string') {
    const byNameValue = byName[value]
    if (byNameValue !== undefined && Object.hasOwn(byName, value)) return byNameValue
    const n = decimalStringToNumber(value)
    if (n !== undefined && Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff) return n
    fail(`unknown enum value ${JSON.stringify(truncate(value))}`)
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    fail('expected an enum integer or name')
  }
  return value
}

/** A fixed64 (timestamps): a non-negative integer, as a decimal string or a number. */
function asFixed64(value: unknown): bigint {
  const n = asBigInt(value, 'expected an unsigned 64-bit integer (decimal string or number)')
  if (n < 0n || n > UINT64_MAX) fail('expected an unsigned 64-bit integer in range')
  return n
}

/** An int64: an integer, as a decimal string or a number. */
function asInt64(value: unknown): bigint {
  const n = asBigInt(value, 'expected a 64-bit integer (decimal string or number)')
  if (n < INT64_MIN || n > INT64_MAX) fail('expected a 64-bit integer in range')
  return n
}

function asBigInt(value: unknown, message: string): bigint {
  if (typeof value === 'string') {
    if (!isDecimalInteger(value)) fail(message)
    return BigInt(value)
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(message)
  return BigInt(value)
}

/** A double: a number, or a string holding a number or NaN/Infinity/-Infinity (protobuf JSON). */
function asDouble(value: unknown): number {
  if (typeof value === 'number') return value
  if (typeof value === 'string') {
    if (value === 'NaN') return Number.NaN
    if (value === 'Infinity') return Number.POSITIVE_INFINITY
    if (value === '-Infinity') return Number.NEGATIVE_INFINITY
    const n = value.trim() === '' ? Number.NaN : Number(value)
    if (Number.isFinite(n)) return n
  }
  fail('expected a number')
}

/** Bytes: base64, standard or URL-safe alphabet, padding optional (protobuf JSON). */
function asBase64(value: unknown): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) fail('expected a base64 string')
  const decoded = Buffer.from(value, 'base64')
  return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength).slice()
}

/** Whether `text` is an optional '-' followed by decimal digits only (BigInt() would also take hex and blanks). */
function isDecimalInteger(text: string): boolean {
  let i = text.charCodeAt(0) === 45 ? 1 : 0
  if (i === text.length) return false
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

function decimalStringToNumber(text: string): number | undefined {
  return isDecimalInteger(text) ? Number(text) : undefined
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}
