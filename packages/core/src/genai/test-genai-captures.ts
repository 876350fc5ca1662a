/**
 * Test support: the OTLP payloads real instrumentations sent (testdata/genai, see its
 * README), decoded into spans by the core protobuf stack. Their GenAI log records go
 * through the logs receiver's decoder and normalization and are attached to their span
 * as storage attaches them (span events named like the record, its attributes and its
 * body under `body`).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { decodeExportLogsRequestProtobuf, decodeExportTraceRequestProtobuf } from '../otlp/decode-protobuf.ts'
import { normalizeExportTraceRequest } from '../otlp/normalize.ts'
import { normalizeExportLogsRequest } from '../otlp/normalize-logs.ts'
import { attachContentEvents, type SpanContentEvent } from '../span-content-event.ts'
import type { Span } from '../span-model.ts'

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

/** The raw log export requests of a scenario, in capture order (none for conventions without events). */
export function captureLogRequests(scenario: CaptureScenario): Uint8Array[] {
  return files(scenario, 'logs', '.binpb').map((f) => new Uint8Array(readFileSync(f)))
}

/** A scenario's spans (start order) under an application, as its trace exports carried them. */
export function loadCaptureSpans(scenario: CaptureScenario, applicationId: string): Span[] {
  return captureTraceRequests(scenario)
    .flatMap(
      (bytes) =>
        normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(bytes), { applicationId }).spans,
    )
    .sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1))
}

/** A scenario's content log records, decoded and picked as the logs receiver does (no limits). */
export function loadCaptureContentEvents(
  scenario: CaptureScenario,
  applicationId: string,
): SpanContentEvent[] {
  return captureLogRequests(scenario).flatMap(
    (bytes) => normalizeExportLogsRequest(decodeExportLogsRequestProtobuf(bytes), { applicationId }).events,
  )
}

/**
 * A scenario's spans (start order) under an application, its GenAI log records attached as
 * span events: decoded by the logs receiver's decoder and attached as storage attaches them.
 */
export function loadCapture(scenario: CaptureScenario, applicationId: string): Span[] {
  const events = loadCaptureContentEvents(scenario, applicationId)
  return loadCaptureSpans(scenario, applicationId).map((span) => attachContentEvents(span, events) ?? span)
}
