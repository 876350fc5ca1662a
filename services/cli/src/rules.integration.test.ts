import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type Attributes, context, SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace'
import { ADMIN_KEY, type RunningSpansift, startSpansift } from './test-harness.ts'
import { randomHexId } from './test-otlp.ts'

// Streaming rules end to end on the embedded pipeline: the example rules of rules/examples
// (their placeholder ids replaced), spans sent with the official OTLP/protobuf exporter,
// and exactly the expected rows in each dataset; replays, an invalid edit, a dry run and
// a backfill through the CLI.

const repoRoot = join(import.meta.dirname, '../../..')
const examplesDir = join(repoRoot, 'rules/examples')
const PLACEHOLDER_APP = '00000000-0000-4000-8000-0000000000a1'

let s: RunningSpansift
let rulesDir: string
let app: { id: string; key: string }
const datasets: Record<string, string> = {}

/** The trace-id suffix sampling reads (its last 56 bits): all zeros is always sampled, all ones never (below rate 1). */
const SAMPLED = '00000000000001'
const UNSAMPLED = 'ffffffffffffff'

interface SpanSpec {
  name: string
  attributes: Attributes
  status?: { code: SpanStatusCode; message?: string }
  durationMs?: number
  event?: { name: string; attributes: Attributes }
  /** Which sampling bucket the trace id falls in. */
  sampling?: 'sampled' | 'unsampled'
}

/** Sends one trace of one span per spec through the official protobuf exporter; returns (trace, span) ids. */
async function send(spec: SpanSpec): Promise<{ traceId: string; spanId: string; spans: ReadableSpan[] }> {
  const suffix = spec.sampling === 'unsampled' ? UNSAMPLED : SAMPLED
  const recorded: ReadableSpan[] = []
  const exporter = new ProtoExporter({ url: s.otlpUrl, headers: { authorization: `Bearer ${app.key}` } })
  const recording: SpanExporter = {
    export: (spans, done) => {
      recorded.push(...spans)
      exporter.export(spans, done)
    },
    shutdown: () => exporter.shutdown(),
  }
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'support-bot' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: recording })],
    idGenerator: {
      generateTraceId: () => randomHexId(9).slice(0, 18) + suffix,
      generateSpanId: () => randomHexId(8),
    },
  })
  const tracer = provider.getTracer('openai-instrumentation', '1.0.0')
  const end = Date.now()
  const start = end - (spec.durationMs ?? 800)
  const span = tracer.startSpan(spec.name, { kind: SpanKind.CLIENT, startTime: start }, context.active())
  span.setAttributes(spec.attributes)
  if (spec.event) span.addEvent(spec.event.name, spec.event.attributes)
  if (spec.status) span.setStatus(spec.status)
  span.end(end)
  await provider.forceFlush()
  await provider.shutdown()
  const { traceId, spanId } = span.spanContext()
  return { traceId, spanId, spans: recorded }
}

async function items(datasetId: string): Promise<any[]> {
  const response = await s.api('GET', `/v1/datasets/${datasetId}/items?limit=100`, ADMIN_KEY)
  assert.equal(response.status, 200, JSON.stringify(response.body))
  return response.body.items
}

const refs = (rows: any[]) => rows.map((r) => `${r.source.trace_id}/${r.source.span_id}`).sort()
const refOf = (sent: { traceId: string; spanId: string }) => `${sent.traceId}/${sent.spanId}`

/** Waits (bounded) until every dataset holds the expected spans, then checks nothing else is there. */
async function expectRows(expected: Record<string, string[]>): Promise<Record<string, any[]>> {
  const deadline = Date.now() + 20_000
  let current: Record<string, any[]> = {}
  for (;;) {
    current = {}
    for (const name of Object.keys(expected)) current[name] = await items(datasets[name]!)
    const done = Object.entries(expected).every(([name, want]) =>
      want.every((ref) => refs(current[name]!).includes(ref)),
    )
    if (done || Date.now() > deadline) break
    await new Promise((r) => setTimeout(r, 100))
  }
  // Anything still in flight would show up now: wait a little before judging "exactly".
  await new Promise((r) => setTimeout(r, 300))
  for (const [name, want] of Object.entries(expected)) {
    assert.deepEqual(refs(await items(datasets[name]!)), [...want].sort(), `dataset ${name}`)
  }
  return current
}

async function rulesListing(key = ADMIN_KEY): Promise<any> {
  const response = await s.api('GET', '/v1/rules', key)
  assert.equal(response.status, 200)
  return response.body
}

async function waitForRules(check: (listing: any) => boolean, what: string): Promise<any> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const listing = await rulesListing()
    if (check(listing)) return listing
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(listing)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

before(async () => {
  s = await startSpansift({}, { rulesPollIntervalMs: 100 })
  rulesDir = s.spansift.rules().status().reload.dir
  app = await s.createApplication('support-bot')
  // One dataset per example rule, named by the placeholder the example uses.
  const kinds: Record<string, 'eval' | 'training'> = {
    d1: 'eval',
    d2: 'eval',
    d3: 'training',
    d4: 'eval',
    d5: 'eval',
  }
  for (const [name, kind] of Object.entries(kinds)) {
    const created = await s.api('POST', '/v1/datasets', ADMIN_KEY, { name, application_id: app.id, kind })
    assert.equal(created.status, 201)
    datasets[name] = created.body.id
  }
  for (const file of readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'))) {
    let text = readFileSync(join(examplesDir, file), 'utf8').replaceAll(PLACEHOLDER_APP, app.id)
    for (const name of ['d1', 'd2', 'd3', 'd4'])
      text = text.replaceAll(`00000000-0000-4000-8000-0000000000${name}`, datasets[name]!)
    writeFileSync(join(rulesDir, file), text)
  }
  await waitForRules(
    (l) => l.rules.length === 4 && l.rules.every((r: any) => r.state === 'active'),
    'the four example rules load and are active',
  )
})

after(async () => {
  await s?.stop()
})

const chat = (extra: Attributes): Attributes => ({
  'gen_ai.operation.name': 'chat',
  'gen_ai.system': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.prompt.0.role': 'user',
  'gen_ai.prompt.0.content': 'Where is my refund? Mail me at ann@example.com',
  'gen_ai.completion.0.role': 'assistant',
  'gen_ai.completion.0.content': 'It was sent on Monday.',
  ...extra,
})

test('the example rules append exactly the spans they describe, with defaults and redaction', async () => {
  // thumbs-down-answers → d1 (by event, by score; not an ERROR span: include_errors is off)
  const byEvent = await send({
    name: 'chat gpt-4o-mini',
    attributes: chat({}),
    event: { name: 'user.feedback', attributes: { rating: 'thumbs_down' } },
    sampling: 'unsampled',
  })
  const byScore = await send({
    name: 'chat',
    attributes: chat({ 'user.feedback.score': 1 }),
    sampling: 'unsampled',
  })
  await send({ name: 'chat', attributes: chat({ 'user.feedback.score': 5 }), sampling: 'unsampled' })
  await send({
    name: 'chat',
    attributes: chat({ 'user.feedback.score': 1 }),
    status: { code: SpanStatusCode.ERROR, message: 'upstream 500' },
    sampling: 'unsampled',
  })
  // slow-llm-calls → d2 (over 20 s, sampled trace; not the unsampled or the fast one)
  const slow = await send({ name: 'chat', attributes: chat({}), durationMs: 25_000, sampling: 'sampled' })
  await send({ name: 'chat', attributes: chat({}), durationMs: 25_000, sampling: 'unsampled' })
  const fast = await send({ name: 'chat', attributes: chat({}), durationMs: 2_000, sampling: 'sampled' })
  // gpt-4o-answers → d3 (model gpt-4o*: gpt-4o-mini too; sampled traces; not disliked; the
  // order id is redacted). The sampled chats above qualify as well.
  const distilled = await send({
    name: 'chat gpt-4o',
    attributes: chat({
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.prompt.0.content': 'Status of ORD-123456?',
    }),
    sampling: 'sampled',
  })
  // tool-call-errors → d4 (ERROR tool executions only)
  const toolError = await send({
    name: 'execute_tool lookup_order',
    attributes: {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'lookup_order',
      'error.type': 'timeout',
    },
    status: { code: SpanStatusCode.ERROR, message: 'timed out after 30 s' },
    sampling: 'unsampled',
  })
  await send({
    name: 'execute_tool lookup_order',
    attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup_order' },
    sampling: 'unsampled',
  })

  const rows = await expectRows({
    d1: [refOf(byEvent), refOf(byScore)],
    d2: [refOf(slow)],
    d3: [refOf(distilled), refOf(slow), refOf(fast)],
    d4: [refOf(toolError)],
  })
  const thumbsDown = rows.d1!.find((r) => r.source.span_id === byEvent.spanId)
  assert.equal(thumbsDown.priority, 'high')
  assert.equal(thumbsDown.feedback_category, 'negative_feedback')
  assert.deepEqual(thumbsDown.labels, ['thumbs-down'])
  assert.equal(thumbsDown.annotation_status, 'empty')
  assert.equal(thumbsDown.source.rule_id, 'thumbs-down-answers')
  assert.match(thumbsDown.inputs.question, /\[REDACTED:email\]/)
  assert.doesNotMatch(JSON.stringify(thumbsDown.inputs), /ann@example\.com/)
  assert.ok(
    thumbsDown.redacted_fields.includes('inputs.question'),
    JSON.stringify(thumbsDown.redacted_fields),
  )
  const row3 = rows.d3!.find((r) => r.source.span_id === distilled.spanId)
  assert.doesNotMatch(JSON.stringify(row3.inputs), /ORD-123456/)
  assert.deepEqual(row3.labels, ['distillation'])
  assert.equal(rows.d4![0].metadata.error, 'timed out after 30 s')
  assert.equal(rows.d4![0].inputs.tool, 'lookup_order')

  // A replayed export (the same spans again, as after an exporter retry) appends nothing new.
  const replay = new ProtoExporter({ url: s.otlpUrl, headers: { authorization: `Bearer ${app.key}` } })
  const replayed = await new Promise<{ code: number }>((resolve) => replay.export(byEvent.spans, resolve))
  assert.equal(replayed.code, 0)
  await replay.shutdown()
  await expectRows({ d1: [refOf(byEvent), refOf(byScore)] })

  const listing = await rulesListing()
  const thumbs = listing.rules.find((r: any) => r.id === 'thumbs-down-answers')
  assert.equal(thumbs.stored_rows, 2)
  assert.ok(thumbs.matched >= 3, 'the replayed span matched again (and appended nothing)')
  assert.equal(thumbs.appended, 2)

  // Another application's key sees none of these rules, and cannot test them.
  const other = await s.createApplication('other')
  assert.deepEqual((await rulesListing(other.key)).rules, [])
  const foreign = await s.api('POST', '/v1/rules/thumbs-down-answers/test', other.key, {
    start_time: new Date(Date.now() - 3_600_000).toISOString(),
    end_time: new Date(Date.now() + 60_000).toISOString(),
  })
  assert.equal(foreign.status, 404)
})

test('an invalid edit keeps the last good rules running and says where the file is wrong', async () => {
  const file = join(rulesDir, 'negative-feedback.yaml')
  const good = readFileSync(file, 'utf8')
  writeFileSync(
    file,
    good.replace('{ field: user.feedback.score, lte: 2 }', '{ field: user.feedback.score, lte: low }'),
  )
  const listing = await waitForRules((l) => l.reload.ok === false, 'the reload fails')
  assert.match(
    listing.reload.errors.join('\n'),
    /negative-feedback\.yaml:\d+:\d+: rules\[0\]\.when\.any\[1\]\.lte/,
  )
  assert.equal(listing.rules.length, 4)
  assert.ok(listing.rules.every((r: any) => r.state === 'active'))
  const metrics = await (await fetch(`${s.metricsUrl}/metrics`)).text()
  assert.match(metrics, /spansift_rules_reloads_total\{outcome="error"\} [1-9]/)

  // The last good rule still appends.
  const before = (await items(datasets.d1!)).length
  await send({ name: 'chat', attributes: chat({ 'user.feedback.score': 2 }), sampling: 'unsampled' })
  const deadline = Date.now() + 10_000
  while ((await items(datasets.d1!)).length === before && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100))
  assert.equal((await items(datasets.d1!)).length, before + 1)

  writeFileSync(file, good)
  await waitForRules((l) => l.reload.ok === true, 'the fixed file loads')
})

/** Runs the CLI against the running server; returns exit code and output. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'services/cli/src/main.ts'), ...args, '--api-url', s.apiUrl, '--key', ADMIN_KEY],
      { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c
    })
    child.stderr.on('data', (c: Buffer) => {
      stderr += c
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

test('a new rule: dry run counts stored spans and writes nothing; backfill appends them once', async () => {
  writeFileSync(
    join(rulesDir, 'all-tool-calls.yaml'),
    `rules:
  - id: all-tool-calls
    application: ${app.id}
    dataset: ${datasets.d5}
    include_errors: true
    when: { field: gen_ai.operation.name, equals: execute_tool }
    mapping: { inputs: { tool: gen_ai.tool.name }, metadata: { status: span.status } }
`,
  )
  await waitForRules(
    (l) => l.rules.some((r: any) => r.id === 'all-tool-calls' && r.state === 'active'),
    'loaded',
  )
  const from = new Date(Date.now() - 3_600_000).toISOString()
  const to = new Date(Date.now() + 60_000).toISOString()

  const dry = await cli(['rules', 'test', 'all-tool-calls', '--from', from, '--to', to, '--json'])
  assert.equal(dry.code, 0, dry.stderr)
  const dryResult = JSON.parse(dry.stdout)
  assert.equal(dryResult.matched, 2, 'the two stored tool spans (one ok, one error)')
  assert.equal(dryResult.samples.length, 2)
  assert.equal(dryResult.samples[0].inputs.tool, 'lookup_order')
  assert.equal((await items(datasets.d5!)).length, 0, 'a dry run writes nothing')

  const backfill = await cli(['rules', 'backfill', 'all-tool-calls', '--from', from, '--to', to])
  assert.equal(backfill.code, 0, backfill.stderr)
  assert.match(backfill.stdout, /done: 1 month partitions?, 2 spans matched, 2 rows added/)
  // Off a terminal, progress is a line per month partition finished.
  assert.match(backfill.stderr, /^spansift: partition 1\/\d+ done: \d+\/\d+ spans read, \d+ rows added$/m)
  assert.equal((await items(datasets.d5!)).length, 2)

  const again = await cli(['rules', 'backfill', 'all-tool-calls', '--from', from, '--to', to, '--json'])
  assert.equal(again.code, 0, again.stderr)
  assert.equal(JSON.parse(again.stdout).added, 0, 'a second backfill appends nothing')
  assert.equal((await items(datasets.d5!)).length, 2)

  // Bad input: an inverted range and an unknown rule are clear refusals.
  const inverted = await s.api('POST', '/v1/rules/all-tool-calls/backfill', ADMIN_KEY, {
    start_time: to,
    end_time: from,
  })
  assert.equal(inverted.status, 400)
  assert.match(inverted.body.error.message, /start_time must be before end_time/)
  const unknown = await cli(['rules', 'test', 'no-such-rule', '--from', from, '--to', to])
  assert.equal(unknown.code, 1)
  assert.match(unknown.stderr, /no rule no-such-rule/)
})
