/**
 * What exact 64-bit integers cost on the span read path (core/exact-integer.ts): a stored
 * span's attribute values, events and links are parsed with parseJsonExact instead of
 * JSON.parse. Times parsing the JSON texts of realistic stored spans (genai-payload.ts's
 * chat spans, normalized, each attribute value encoded as storage writes it) three ways:
 * JSON.parse, parseJsonExact (the digit-run fast path), and JSON.parse with the reviver
 * on every text (no fast path). Bounded: a fixed number of rounds, about 5 s in all.
 *
 *   cd load-tests && node --conditions=spansift-test exact-json-benchmark.ts
 */
import { parseJsonExact } from '@spansift/core/exact-integer'
import { normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import { machineDescription } from './bench-util.ts'
import { buildGenAiRequest } from './genai-payload.ts'

const ROUNDS = 15
const { request } = buildGenAiRequest(2000)
const { spans } = normalizeExportTraceRequest(request, {
  applicationId: '0b6c2a0e-6a43-4d56-9d0f-3f9e1c1e8a01',
})
const texts: string[] = []
for (const span of spans) {
  for (const key in span.attributes) texts.push(JSON.stringify(span.attributes[key]))
  for (const key in span.resourceAttributes) texts.push(JSON.stringify(span.resourceAttributes[key]))
  texts.push(JSON.stringify(span.events))
}
const bytes = texts.reduce((n, t) => n + t.length, 0)

const alwaysReviver = (text: string) =>
  JSON.parse(text, (_k, v, context?: { source?: string }) =>
    typeof v === 'number' && !Number.isSafeInteger(v) && context?.source ? context.source : v,
  )

function time(name: string, parse: (text: string) => unknown): void {
  const rounds: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const started = performance.now()
    for (const text of texts) parse(text)
    rounds.push(performance.now() - started)
  }
  rounds.sort((a, b) => a - b)
  const median = rounds[Math.floor(rounds.length / 2)]!
  console.log(
    `${name.padEnd(34)} ${median.toFixed(1).padStart(7)} ms per ${spans.length} spans (${texts.length} texts, ${(bytes / 1e6).toFixed(1)} MB): ${((spans.length / median) * 1000).toFixed(0)} spans/s`,
  )
}

console.log(machineDescription())
time('JSON.parse', (t) => JSON.parse(t))
time('parseJsonExact', (t) => parseJsonExact(t))
time('JSON.parse + reviver on every text', alwaysReviver)
