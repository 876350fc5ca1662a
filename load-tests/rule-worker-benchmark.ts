/**
 * The rule worker's throughput: spans per second through its batch handler (every active
 * rule of the span's application evaluated; matches mapped, redacted and handed to the
 * append queue) with 1, 10 and 100 rules, on one core. The append queue here only counts
 * what it receives, so the figure is the rules' own cost; appending to ClickHouse is
 * measured by the pipeline and scale-out benchmarks.
 *
 *   node --conditions=spansift-test load-tests/rule-worker-benchmark.ts [--seconds=5]
 *
 * Bounded: each configuration runs for --seconds (default 5, at most 60).
 */

import type { RuleRegistry } from '@spansift/application/rule-registry'
import { createRuleWorker } from '@spansift/application/rule-worker'
import { createInProcessAppendQueue } from '@spansift/bus/in-process-append-queue'
import { decodeExportTraceRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import { type CompiledRule, compileRule } from '@spansift/core/rules/rule-evaluator'
import { parseRuleFile } from '@spansift/core/rules/rule-file'
import type { Span } from '@spansift/core/span-model'
import { machineDescription } from './bench-util.ts'
import { buildGenAiRequest } from './genai-payload.ts'

const APPLICATION_ID = '8d5b7c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e'
const DATASET_ID = '1b2c3d4e-5f60-4718-893a-0b1c2d3e4f50'
const secondsArg = Number(/^--seconds=(\d+)$/.exec(process.argv[2] ?? '')?.[1] ?? 5)
const SECONDS = Math.min(60, Math.max(1, secondsArg))

/** Rule shapes, cycled. Broad: each matches 10–50% of spans, so mapping and redaction dominate. */
const BROAD = [
  `{ field: model, equals: claude-3-5-sonnet-20241022 }`,
  `{ all: [ { field: gen_ai.operation.name, in: [chat, text_completion] }, { field: span.duration_ms, gt: 20000 } ] }`,
  `{ field: output, contains: "refund policy" }`,
  `{ any: [ { field: user.feedback.score, lte: 2 }, { event: { name: user.feedback, where: { field: rating, equals: thumbs_down } } } ] }`,
  `{ all: [ { field: gen_ai.usage.output_tokens, gte: 1000 }, { field: gen_ai.response.finish_reasons, exists: true } ] }`,
  `{ field: input, matches: "password (reset|change)" }`,
  `{ not: { field: service.name, starts_with: support } }`,
  `{ field: model, starts_with: gpt-4o }`,
]

/**
 * Selective: the same shapes with constants that few spans meet, as production rules
 * (a given model, a slow call, a bad score) mostly are: evaluation dominates.
 */
const SELECTIVE = (i: number) =>
  [
    `{ field: model, equals: claude-${i} }`,
    `{ all: [ { field: gen_ai.operation.name, in: [chat, text_completion] }, { field: span.duration_ms, gt: ${20_000 + i} } ] }`,
    `{ field: output, contains: "refund policy ${i}" }`,
    BROAD[3]!,
    `{ all: [ { field: gen_ai.usage.output_tokens, gte: ${5_000 + i} }, { field: gen_ai.response.finish_reasons, exists: true } ] }`,
    `{ field: input, matches: "password (reset|change) ${i}" }`,
    BROAD[6]!,
    i === 7 ? BROAD[7]! : `{ field: model, equals: gpt-4o-${i} }`,
  ][i % 8]!

function rules(count: number, shape: 'broad' | 'selective'): CompiledRule[] {
  const text = `rules:\n${Array.from(
    { length: count },
    (_, i) => `  - id: rule-${i}
    application: ${APPLICATION_ID}
    dataset: ${DATASET_ID}
    when: ${shape === 'broad' ? BROAD[i % BROAD.length] : SELECTIVE(i)}
    sample: ${i % 3 === 0 ? 0.5 : 1}
    mapping: { inputs: { question: input }, expected_outputs: { answer: output }, metadata: { model: model } }
    redact: { detectors: [all] }
`,
  ).join('')}`
  const parsed = parseRuleFile('bench.yaml', text)
  if (parsed.errors.length > 0) throw new Error(JSON.stringify(parsed.errors))
  return parsed.rules.map(compileRule)
}

function spans(): Span[] {
  const all: Span[] = []
  for (let seed = 1; seed <= 20; seed++) {
    const request = buildGenAiRequest(500, { seed, applicationId: APPLICATION_ID })
    const { spans } = normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(request.protobuf))
    all.push(...spans)
  }
  return all
}

async function measure(
  ruleCount: number,
  shape: 'broad' | 'selective',
  batch: Span[][],
): Promise<{ spansPerSecond: number; matchesPerSpan: number; evaluationsPerSecond: number }> {
  const compiled = rules(ruleCount, shape)
  const registry = {
    forApplication: (id: string) => (id === APPLICATION_ID ? compiled : []),
    recordMatched() {},
  } as unknown as RuleRegistry
  let matched = 0
  const queue = createInProcessAppendQueue()
  queue.consume(async (_datasetId, candidates) => {
    matched += candidates.length
  })
  await queue.start()
  const worker = createRuleWorker({ registry, queue })
  const deadline = performance.now() + SECONDS * 1000
  const started = performance.now()
  let handled = 0
  for (let i = 0; performance.now() < deadline; i++) {
    const spansOfBatch = batch[i % batch.length]!
    await worker(spansOfBatch)
    handled += spansOfBatch.length
  }
  const seconds = (performance.now() - started) / 1000
  return {
    spansPerSecond: handled / seconds,
    matchesPerSpan: matched / handled,
    evaluationsPerSecond: (handled * ruleCount) / seconds,
  }
}

const all = spans()
const batches: Span[][] = []
for (let i = 0; i < all.length; i += 1000) batches.push(all.slice(i, i + 1000))
console.log(`rule worker benchmark — ${machineDescription()}`)
console.log(
  `${all.length} GenAI spans (~700 B each) in batches of 1000; ${SECONDS} s per configuration, one core`,
)
for (const shape of ['selective', 'broad'] as const)
  for (const count of [1, 10, 100]) {
    const r = await measure(count, shape, batches)
    console.log(
      `${shape.padEnd(9)} ${String(count).padStart(3)} rules: ${Math.round(r.spansPerSecond).toLocaleString('en')} spans/s, ${Math.round(r.evaluationsPerSecond).toLocaleString('en')} rule evaluations/s, ${r.matchesPerSpan.toFixed(3)} matches per span`,
    )
  }
