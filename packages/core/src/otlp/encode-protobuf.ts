import type {
  OtlpExportLogsRequest,
  OtlpLogRecord,
  OtlpResourceLogs,
  OtlpScopeLogs,
} from './otlp-logs-types.ts'
import type {
  OtlpAnyValue,
  OtlpEntityRef,
  OtlpExportTraceRequest,
  OtlpInstrumentationScope,
  OtlpKeyValue,
  OtlpResource,
  OtlpResourceSpans,
  OtlpScopeSpans,
  OtlpSpan,
  OtlpSpanEvent,
  OtlpSpanLink,
  OtlpStatus,
} from './otlp-types.ts'
import { ProtobufWriter } from './protobuf-writer.ts'

/*
 * The mirror of decode-protobuf.ts: writes the typed request as canonical proto3 (fields in
 * field-number order except `flags`, defaults omitted), so what it writes decodes back to an
 * equal request in any OTLP implementation. Tags are `field_number << 3 | wire_type`.
 */

/** Encoding is synchronous: one writer and its scratch buffer serve every call. */
const writer = new ProtobufWriter()

/**
 * Encodes a request as a protobuf `ExportTraceServiceRequest`, e.g. one trace's spans for the
 * bus. Fields at their default value are omitted, as proto3 does.
 */
export function encodeExportTraceRequestProtobuf(request: OtlpExportTraceRequest): Uint8Array {
  const w = writer
  w.reset()
  try {
    for (const resourceSpans of request.resourceSpans) {
      w.uint32(10)
      const start = w.beginMessage()
      writeResourceSpans(w, resourceSpans)
      w.endMessage(start)
    }
    return w.finish()
  } catch (error) {
    w.reset()
    throw error
  }
}

function writeResourceSpans(w: ProtobufWriter, resourceSpans: OtlpResourceSpans): void {
  w.uint32(10)
  const start = w.beginMessage()
  writeResource(w, resourceSpans.resource)
  w.endMessage(start)
  for (const scopeSpans of resourceSpans.scopeSpans) {
    w.uint32(18)
    const at = w.beginMessage()
    writeScopeSpans(w, scopeSpans)
    w.endMessage(at)
  }
  if (resourceSpans.schemaUrl !== '') {
    w.uint32(26)
    w.string(resourceSpans.schemaUrl)
  }
}

function writeResource(w: ProtobufWriter, resource: OtlpResource): void {
  writeAttributes(w, 10, resource.attributes)
  if (resource.droppedAttributesCount !== 0) {
    w.uint32(16)
    w.uint32(resource.droppedAttributesCount)
  }
  for (const entityRef of resource.entityRefs) {
    w.uint32(26)
    const start = w.beginMessage()
    writeEntityRef(w, entityRef)
    w.endMessage(start)
  }
}

function writeEntityRef(w: ProtobufWriter, entityRef: OtlpEntityRef): void {
  if (entityRef.schemaUrl !== '') {
    w.uint32(10)
    w.string(entityRef.schemaUrl)
  }
  if (entityRef.type !== '') {
    w.uint32(18)
    w.string(entityRef.type)
  }
  for (const key of entityRef.idKeys) {
    w.uint32(26)
    w.string(key)
  }
  for (const key of entityRef.descriptionKeys) {
    w.uint32(34)
    w.string(key)
  }
}

function writeScopeSpans(w: ProtobufWriter, scopeSpans: OtlpScopeSpans): void {
  w.uint32(10)
  const start = w.beginMessage()
  writeScope(w, scopeSpans.scope)
  w.endMessage(start)
  for (const span of scopeSpans.spans) {
    w.uint32(18)
    const at = w.beginMessage(2)
    writeSpan(w, span)
    w.endMessage(at)
  }
  if (scopeSpans.schemaUrl !== '') {
    w.uint32(26)
    w.string(scopeSpans.schemaUrl)
  }
}

function writeScope(w: ProtobufWriter, scope: OtlpInstrumentationScope): void {
  if (scope.name !== '') {
    w.uint32(10)
    w.string(scope.name)
  }
  if (scope.version !== '') {
    w.uint32(18)
    w.string(scope.version)
  }
  writeAttributes(w, 26, scope.attributes)
  if (scope.droppedAttributesCount !== 0) {
    w.uint32(32)
    w.uint32(scope.droppedAttributesCount)
  }
}

function writeSpan(w: ProtobufWriter, span: OtlpSpan): void {
  if (span.traceId.byteLength !== 0) {
    w.uint32(10)
    w.bytes(span.traceId)
  }
  if (span.spanId.byteLength !== 0) {
    w.uint32(18)
    w.bytes(span.spanId)
  }
  if (span.traceState !== '') {
    w.uint32(26)
    w.string(span.traceState)
  }
  if (span.parentSpanId.byteLength !== 0) {
    w.uint32(34)
    w.bytes(span.parentSpanId)
  }
  if (span.name !== '') {
    w.uint32(42)
    w.string(span.name)
  }
  if (span.kind !== 0) {
    w.uint32(48)
    w.int32(span.kind)
  }
  if (span.startTimeUnixNano !== 0n) {
    w.uint32(57)
    w.fixed64(span.startTimeUnixNano)
  }
  if (span.endTimeUnixNano !== 0n) {
    w.uint32(65)
    w.fixed64(span.endTimeUnixNano)
  }
  writeAttributes(w, 74, span.attributes)
  if (span.droppedAttributesCount !== 0) {
    w.uint32(80)
    w.uint32(span.droppedAttributesCount)
  }
  for (const event of span.events) {
    w.uint32(90)
    const start = w.beginMessage()
    writeEvent(w, event)
    w.endMessage(start)
  }
  if (span.droppedEventsCount !== 0) {
    w.uint32(96)
    w.uint32(span.droppedEventsCount)
  }
  for (const link of span.links) {
    w.uint32(106)
    const start = w.beginMessage()
    writeLink(w, link)
    w.endMessage(start)
  }
  if (span.droppedLinksCount !== 0) {
    w.uint32(112)
    w.uint32(span.droppedLinksCount)
  }
  if (span.status.code !== 0 || span.status.message !== '') {
    w.uint32(122)
    const start = w.beginMessage()
    writeStatus(w, span.status)
    w.endMessage(start)
  }
  if (span.flags !== 0) {
    w.uint32(133)
    w.fixed32(span.flags)
  }
}

function writeEvent(w: ProtobufWriter, event: OtlpSpanEvent): void {
  if (event.timeUnixNano !== 0n) {
    w.uint32(9)
    w.fixed64(event.timeUnixNano)
  }
  if (event.name !== '') {
    w.uint32(18)
    w.string(event.name)
  }
  writeAttributes(w, 26, event.attributes)
  if (event.droppedAttributesCount !== 0) {
    w.uint32(32)
    w.uint32(event.droppedAttributesCount)
  }
}

function writeLink(w: ProtobufWriter, link: OtlpSpanLink): void {
  if (link.traceId.byteLength !== 0) {
    w.uint32(10)
    w.bytes(link.traceId)
  }
  if (link.spanId.byteLength !== 0) {
    w.uint32(18)
    w.bytes(link.spanId)
  }
  if (link.traceState !== '') {
    w.uint32(26)
    w.string(link.traceState)
  }
  writeAttributes(w, 34, link.attributes)
  if (link.droppedAttributesCount !== 0) {
    w.uint32(40)
    w.uint32(link.droppedAttributesCount)
  }
  if (link.flags !== 0) {
    w.uint32(53)
    w.fixed32(link.flags)
  }
}

function writeStatus(w: ProtobufWriter, status: OtlpStatus): void {
  if (status.message !== '') {
    w.uint32(18)
    w.string(status.message)
  }
  if (status.code !== 0) {
    w.uint32(24)
    w.int32(status.code)
  }
}

function writeAttributes(w: ProtobufWriter, tag: number, attributes: OtlpKeyValue[]): void {
  for (const attribute of attributes) {
    w.uint32(tag)
    const start = w.beginMessage()
    writeKeyValue(w, attribute)
    w.endMessage(start)
  }
}

function writeKeyValue(w: ProtobufWriter, keyValue: OtlpKeyValue): void {
  if (keyValue.key !== '') {
    w.uint32(10)
    w.string(keyValue.key)
  }
  // An unset and an empty AnyValue decode alike, so the empty one is not written.
  if (keyValue.value.type === 'empty') return
  w.uint32(18)
  const start = w.beginMessage()
  writeAnyValue(w, keyValue.value)
  w.endMessage(start)
}

function writeAnyValue(w: ProtobufWriter, value: OtlpAnyValue): void {
  // A oneof member is written even at its default value: that is how `int_value: 0` is told
  // apart from an empty AnyValue.
  switch (value.type) {
    case 'string':
      w.uint32(10)
      w.string(value.value)
      break
    case 'bool':
      w.uint32(16)
      w.uint32(value.value ? 1 : 0)
      break
    case 'int':
      w.uint32(24)
      w.int64(value.value)
      break
    case 'double':
      w.uint32(33)
      w.double(value.value)
      break
    case 'array': {
      w.uint32(42)
      const start = w.beginMessage()
      for (const item of value.value) {
        w.uint32(10)
        const at = w.beginMessage()
        writeAnyValue(w, item)
        w.endMessage(at)
      }
      w.endMessage(start)
      break
    }
    case 'kvlist': {
      w.uint32(50)
      const start = w.beginMessage()
      for (const item of value.value) {
        w.uint32(10)
        const at = w.beginMessage()
        writeKeyValue(w, item)
        w.endMessage(at)
      }
      w.endMessage(start)
      break
    }
    case 'bytes':
      w.uint32(58)
      w.bytes(value.value)
      break
    case 'empty':
      break
  }
}

/**
 * Encodes a request as a protobuf `ExportLogsServiceRequest` (the value of a `spansift.logs`
 * record), canonical proto3 like the trace encoder.
 */
export function encodeExportLogsRequestProtobuf(request: OtlpExportLogsRequest): Uint8Array {
  const w = writer
  w.reset()
  try {
    for (const resourceLogs of request.resourceLogs) {
      w.uint32(10)
      const start = w.beginMessage()
      writeResourceLogs(w, resourceLogs)
      w.endMessage(start)
    }
    return w.finish()
  } catch (error) {
    w.reset()
    throw error
  }
}

function writeResourceLogs(w: ProtobufWriter, resourceLogs: OtlpResourceLogs): void {
  w.uint32(10)
  const start = w.beginMessage()
  writeResource(w, resourceLogs.resource)
  w.endMessage(start)
  for (const scopeLogs of resourceLogs.scopeLogs) {
    w.uint32(18)
    const at = w.beginMessage()
    writeScopeLogs(w, scopeLogs)
    w.endMessage(at)
  }
  if (resourceLogs.schemaUrl !== '') {
    w.uint32(26)
    w.string(resourceLogs.schemaUrl)
  }
}

function writeScopeLogs(w: ProtobufWriter, scopeLogs: OtlpScopeLogs): void {
  w.uint32(10)
  const start = w.beginMessage()
  writeScope(w, scopeLogs.scope)
  w.endMessage(start)
  for (const record of scopeLogs.logRecords) {
    w.uint32(18)
    const at = w.beginMessage(2)
    writeLogRecord(w, record)
    w.endMessage(at)
  }
  if (scopeLogs.schemaUrl !== '') {
    w.uint32(26)
    w.string(scopeLogs.schemaUrl)
  }
}

function writeLogRecord(w: ProtobufWriter, record: OtlpLogRecord): void {
  if (record.timeUnixNano !== 0n) {
    w.uint32(9)
    w.fixed64(record.timeUnixNano)
  }
  if (record.severityNumber !== 0) {
    w.uint32(16)
    w.int32(record.severityNumber)
  }
  if (record.severityText !== '') {
    w.uint32(26)
    w.string(record.severityText)
  }
  if (record.body.type !== 'empty') {
    w.uint32(42)
    const start = w.beginMessage()
    writeAnyValue(w, record.body)
    w.endMessage(start)
  }
  writeAttributes(w, 50, record.attributes)
  if (record.droppedAttributesCount !== 0) {
    w.uint32(56)
    w.uint32(record.droppedAttributesCount)
  }
  if (record.flags !== 0) {
    w.uint32(69)
    w.fixed32(record.flags)
  }
  if (record.traceId.byteLength !== 0) {
    w.uint32(74)
    w.bytes(record.traceId)
  }
  if (record.spanId.byteLength !== 0) {
    w.uint32(82)
    w.bytes(record.spanId)
  }
  if (record.observedTimeUnixNano !== 0n) {
    w.uint32(89)
    w.fixed64(record.observedTimeUnixNano)
  }
  if (record.eventName !== '') {
    w.uint32(98)
    w.string(record.eventName)
  }
}
