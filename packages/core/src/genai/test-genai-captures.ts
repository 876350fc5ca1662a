/**
 * Test support: the OTLP payloads real instrumentations sent (testdata/genai, see its
 * README), decoded into spans. Traces go through the core protobuf decoder; logs (whose
 * decoder is the logs receiver's) are read from the capture's JSON rendering and attached
 * to their span as span events named like the log record's event name, with the record's
 * attributes and its body under `body` (the shape the logs receiver delivers).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { decodeExportTraceRequestProtobuf } from '../otlp/decode-protobuf.ts'
import { normalizeExportTraceRequest } from '../otlp/normalize.ts'
import type { Attributes, AttributeValue, Span } from '../span-model.ts'

export const CAPTURES_DIR = new URL('../../../../testdata/genai/', import.meta.url)

/** The scenarios captured, by folder. */
export const CAPTURE_SCENARIOS = [
  'openai-v2-events-legacy',
  'util-genai-event-only',
  'util-genai-span-only',
  'openinference',
  'openllmetry',
  'openllmetry-indexed',
] as const
export type CaptureScenario = (typeof CAPTURE_SCENARIOS)[number]

/** What every scenario's calls said (capture.py's constants). */
export const CONVERSATION = {
  system: 'You are a terse geography assistant.',
  plain: { question: 'What is the capital of France?', answer: 'Paris is the capital of France.' },
  stream: { question: 'What is the capital of Italy?', answer: 'Rome is the capital of Italy.' },
  tool: {
    question: 'What is the weather in Paris?',
    arguments: { city: 'Paris' },
    result: { temperature_c: 18, sky: 'cloudy' },
    answer: 'It is 18 degrees and cloudy in Paris.',
  },
  requestModel: 'gpt-4o-mini',
  responseModel: 'gpt-4o-mini-2024-07-18',
} as const

function files(scenario: string, signal: 'traces' | 'logs', extension: string): URL[] {
  const dir = new URL(`${scenario}/`, CAPTURES_DIR)
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${signal}-`) && f.endsWith(extension))
    .sort((a, b) => Number(a.split(/[-.]/)[1]) - Number(b.split(/[-.]/)[1]))
    .map((f) => new URL(f, dir))
}

/** The raw trace export requests of a scenario, in capture order. */
export function captureTraceRequests(scenario: CaptureScenario): Uint8Array[] {
  return files(scenario, 'traces', '.binpb').map((f) => new Uint8Array(readFileSync(f)))
}

/** A scenario's spans (start order) under an application, its log records attached as span events. */
export function loadCapture(scenario: CaptureScenario, applicationId: string): Span[] {
  const spans = captureTraceRequests(scenario).flatMap(
    (bytes) => normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(bytes), { applicationId }).spans,
  )
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  for (const file of files(scenario, 'logs', '.json')) {
    const request = JSON.parse(readFileSync(file, 'utf8')) as JsonLogsRequest
    for (const resource of request.resourceLogs ?? [])
      for (const scope of resource.scopeLogs ?? [])
        for (const record of scope.logRecords ?? []) {
          const span = byId.get(hex(record.spanId ?? ''))
          if (!span || !record.eventName) continue
          const attributes: Attributes = keyValues(record.attributes)
          if (record.body) attributes.body = anyValue(record.body)
          span.events.push({
            timeUnixNano: BigInt(record.timeUnixNano ?? '0'),
            name: record.eventName,
            attributes,
          })
        }
  }
  return spans.sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1))
}

interface JsonAnyValue {
  stringValue?: string
  boolValue?: boolean
  intValue?: string
  doubleValue?: number
  arrayValue?: { values?: JsonAnyValue[] }
  kvlistValue?: { values?: JsonKeyValue[] }
  bytesValue?: string
}
interface JsonKeyValue {
  key: string
  value: JsonAnyValue
}
interface JsonLogsRequest {
  resourceLogs?: Array<{
    scopeLogs?: Array<{
      logRecords?: Array<{
        timeUnixNano?: string
        eventName?: string
        spanId?: string
        body?: JsonAnyValue
        attributes?: JsonKeyValue[]
      }>
    }>
  }>
}

// protobuf's JSON mapping (what the capture renders) writes bytes as base64.
const hex = (base64: string) => Buffer.from(base64, 'base64').toString('hex')

function keyValues(list: JsonKeyValue[] | undefined): Attributes {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, anyValue(kv.value)]))
}

function anyValue(v: JsonAnyValue): AttributeValue {
  if (v.stringValue !== undefined) return v.stringValue
  if (v.boolValue !== undefined) return v.boolValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue)
  if (v.kvlistValue) return keyValues(v.kvlistValue.values)
  if (v.bytesValue !== undefined) return v.bytesValue
  return null
}
