/**
 * Predicate benchmark for the rule worker's hot path: how many predicate evaluations per
 * second one core makes with 1, 10 and 100 compiled rules over realistic GenAI spans
 * (genai-payload.ts's chat spans, normalized, a third rewritten to OpenInference and a
 * third to OpenLLMetry's indexed attributes, error spans with an exception event).
 * Target: ≥ 1,000,000 evaluations per second per core.
 *
 * Each case runs in a fresh Node process (V8's tiering and heap sizing adapt to what ran
 * before); rates are per CPU-second of that process, the median of 100 ms rounds after a
 * warm-up. Bounded: about 2.5 s per case.
 *
 *   cd load-tests && node --conditions=spansift-test predicate-benchmark.ts [--warm-up=1] [--seconds-per-case=1]
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import { compilePredicate, type SpanMatcher } from '@spansift/core/rules/compile-js'
import type { Predicate } from '@spansift/core/rules/predicate'
import type { Span } from '@spansift/core/span-model'
import { machineDescription } from './bench-util.ts'
import { buildGenAiRequest } from './genai-payload.ts'

const SPAN_COUNT = 4000
const ROUND_MS = 100
const APPLICATION_ID = '0b6c2a0e-6a43-4d56-9d0f-3f9e1c1e8a01'

function numberArgument(name: string, fallback: number): number {
  const argument = process.argv.find((a) => a.startsWith(`--${name}=`))
  return argument === undefined ? fallback : Number(argument.slice(name.length + 3))
}
const WARM_UP_SECONDS = numberArgument('warm-up', 1)
const SECONDS_PER_CASE = numberArgument('seconds-per-case', 1)

/** Realistic spans: three conventions, the GenAI attributes of genai-payload.ts, some errors. */
function buildSpans(): Span[] {
  const spans: Span[] = []
  for (let seed = 1; spans.length < SPAN_COUNT; seed++) {
    const { request } = buildGenAiRequest(1000, { seed })
    spans.push(...normalizeExportTraceRequest(request, { applicationId: APPLICATION_ID }).spans)
  }
  return spans.slice(0, SPAN_COUNT).map((span, i) => {
    const a = { ...span.attributes }
    if (i % 3 === 1) {
      // OpenInference
      a['input.value'] = a['gen_ai.prompt'] ?? ''
      a['output.value'] = a['gen_ai.completion'] ?? ''
      a['llm.model_name'] = a['gen_ai.request.model'] ?? ''
      a['llm.token_count.prompt'] = a['gen_ai.usage.input_tokens'] ?? 0
      a['openinference.span.kind'] = 'LLM'
      for (const k of ['gen_ai.prompt', 'gen_ai.completion', 'gen_ai.request.model', 'gen_ai.response.model'])
        delete a[k]
    } else if (i % 3 === 2) {
      // OpenLLMetry, indexed messages
      a['gen_ai.prompt.0.role'] = 'system'
      a['gen_ai.prompt.0.content'] = 'You are a helpful support agent.'
      a['gen_ai.prompt.1.role'] = 'user'
      a['gen_ai.prompt.1.content'] = a['gen_ai.prompt'] ?? ''
      a['gen_ai.completion.0.role'] = 'assistant'
      a['gen_ai.completion.0.content'] = a['gen_ai.completion'] ?? ''
      a['llm.request.type'] = 'chat'
      delete a['gen_ai.prompt']
      delete a['gen_ai.completion']
    }
    const events =
      span.statusCode === 2
        ? [
            {
              timeUnixNano: span.endTimeUnixNano,
              name: 'exception',
              attributes: {
                'exception.type': 'RateLimitError',
                'exception.message': '429 Too Many Requests',
              },
            },
          ]
        : span.events
    return { ...span, attributes: a, events }
  })
}

const MODELS = [
  'gpt-4o-2024-08-06',
  'gpt-4o-mini-2024-07-18',
  'claude-3-5-sonnet-20241022',
  'gemini-1.5-pro-002',
]
const WORDS = [
  'refund',
  'invoice',
  'password',
  'shipping',
  'cancel',
  'charged',
  'subscription',
  'delivery',
  'tracking',
  'escalate',
]

/** 100 rules of the kinds a team writes: model and cost filters, errors, slow calls, topics, events. */
function buildRules(): Predicate[] {
  const rules: Predicate[] = []
  for (let i = 0; rules.length < 100; i++) {
    const model = MODELS[i % MODELS.length]!
    const word = WORDS[i % WORDS.length]!
    const templates: Predicate[] = [
      {
        all: [
          { field: 'model', equals: model },
          { field: 'gen_ai.usage.input_tokens', gt: 500 + i * 10 },
        ],
      },
      {
        all: [
          { field: 'span.status', equals: 'error' },
          { field: 'service.name', equals: 'support-bot' },
        ],
      },
      { field: 'span.duration_ms', gt: 2000 + i * 10 },
      { field: 'input', contains: word },
      {
        all: [
          { field: 'span.kind', equals: 'client' },
          { field: 'output', starts_with: word },
        ],
      },
      {
        any: [
          { field: 'model', in: [model, 'gpt-4'] },
          { field: 'gen_ai.usage.output_tokens', gte: 700 },
        ],
      },
      { event: { name: 'exception', where: { field: 'exception.type', ends_with: 'RateLimitError' } } },
      {
        all: [
          { field: 'span.name', starts_with: 'chat' },
          { not: { field: 'gen_ai.response.finish_reasons', exists: true } },
        ],
      },
      { field: 'input', matches: `(?i)${word}|charge ?back` },
      {
        all: [
          { field: 'deployment.environment.name', equals: 'production' },
          { field: 'gen_ai.request.temperature', lte: 0.2 },
        ],
      },
    ]
    rules.push(templates[i % templates.length]!)
  }
  return rules
}

interface CaseDefinition {
  name: string
  rules: (all: Predicate[]) => Predicate[]
}

const CASES: CaseDefinition[] = [
  { name: '1 rule (model and token filter)', rules: (all) => all.slice(0, 1) },
  { name: '10 rules (one of each kind)', rules: (all) => all.slice(0, 10) },
  { name: '100 rules', rules: (all) => all },
  { name: '1 rule: input contains (text scan)', rules: (all) => all.slice(3, 4) },
  { name: '1 rule: input matches (?i)… (regex NFA)', rules: (all) => all.slice(8, 9) },
]

interface CaseResult {
  evaluationsPerSecond: number
  matchedShare: number
}

function runCase(index: number): CaseResult {
  const spans = buildSpans()
  const matchers: SpanMatcher[] = CASES[index]!.rules(buildRules()).map(compilePredicate)
  let matched = 0
  let evaluations = 0
  let cursor = 0
  // One call: one span against every rule.
  const step = () => {
    const span = spans[cursor]!
    cursor = cursor + 1 === spans.length ? 0 : cursor + 1
    for (let r = 0; r < matchers.length; r++) if (matchers[r]!(span)) matched++
    evaluations += matchers.length
  }
  const warmUntil = performance.now() + WARM_UP_SECONDS * 1000
  while (performance.now() < warmUntil) step()
  const rates: number[] = []
  matched = 0
  evaluations = 0
  const until = performance.now() + SECONDS_PER_CASE * 1000
  while (performance.now() < until || rates.length < 3) {
    const cpuBefore = process.cpuUsage()
    const before = evaluations
    const roundEnd = performance.now() + ROUND_MS
    while (performance.now() < roundEnd) for (let k = 0; k < 64; k++) step()
    const cpu = process.cpuUsage(cpuBefore)
    rates.push((evaluations - before) / ((cpu.user + cpu.system) / 1e6))
  }
  rates.sort((a, b) => a - b)
  return { evaluationsPerSecond: rates[rates.length >> 1]!, matchedShare: matched / evaluations }
}

const caseArgument = process.argv.find((a) => a.startsWith('--case='))
if (caseArgument !== undefined) {
  process.stdout.write(JSON.stringify(runCase(Number(caseArgument.slice('--case='.length)))))
} else {
  console.log(`machine: ${machineDescription()}`)
  console.log(
    `load average at start: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
  console.log(
    `${SPAN_COUNT} GenAI spans (GenAI semconv, OpenInference, OpenLLMetry); one process per case, ` +
      `${WARM_UP_SECONDS}s warm-up, median of ${ROUND_MS} ms rounds over ${SECONDS_PER_CASE}s, per CPU-second`,
  )
  console.log('')
  for (let index = 0; index < CASES.length; index++) {
    const output = execFileSync(
      process.execPath,
      [
        import.meta.filename,
        `--case=${index}`,
        `--warm-up=${WARM_UP_SECONDS}`,
        `--seconds-per-case=${SECONDS_PER_CASE}`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 60_000 },
    )
    const { evaluationsPerSecond, matchedShare } = JSON.parse(output) as CaseResult
    const rules = CASES[index]!.rules(buildRules()).length
    console.log(
      `${CASES[index]!.name.padEnd(42)} ${Math.round(evaluationsPerSecond).toLocaleString('en-US').padStart(12)} evaluations/s` +
        `  ${Math.round(evaluationsPerSecond / rules)
          .toLocaleString('en-US')
          .padStart(11)} spans/s` +
        `  (${(matchedShare * 100).toFixed(1)}% matched)`,
    )
  }
}
