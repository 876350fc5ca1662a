import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace'
import { tableNames } from '@spansift/clickhouse/tables'
import { ADMIN_KEY, type RunningSpansift, rangeAroundNow, startSpansift } from './test-harness.ts'

// The real server, sent spans by the official OpenTelemetry exporters.
let s: RunningSpansift
let app: { id: string; key: string }

before(async () => {
  s = await startSpansift()
  app = await s.createApplication('support-bot')
})
after(async () => {
  await s.stop()
})

/** Emits one GenAI-shaped trace (a chat span under a workflow span) through `exporter`; returns its trace id. */
async function sendTrace(exporter: SpanExporter, label: string): Promise<string> {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'support-bot', 'deployment.environment': 'test' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  })
  const tracer = provider.getTracer('spansift-test', '1.2.3')
  const root = tracer.startSpan('workflow', { kind: SpanKind.SERVER })
  const chat = tracer.startSpan(
    `chat ${label}`,
    { kind: SpanKind.CLIENT },
    trace.setSpan(context.active(), root),
  )
  chat.setAttributes({
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 412,
    'gen_ai.request.temperature': 0.2,
    'gen_ai.response.finish_reasons': ['stop'],
    'gen_ai.prompt': 'What is my refund status?',
    'gen_ai.completion': 'Your refund was sent on Monday.',
    'llm.streaming': false,
    'test.label': label,
  })
  chat.addEvent('gen_ai.user.feedback', { 'feedback.score': -1 })
  chat.setStatus({ code: SpanStatusCode.ERROR, message: 'thumbs down' })
  chat.end()
  root.end()
  await provider.forceFlush()
  await provider.shutdown()
  return root.spanContext().traceId
}

/** Records a trace in memory, for tests that drive an exporter's export() by hand. */
async function recordTrace(label: string): Promise<{ traceId: string; spans: ReadableSpan[] }> {
  const memory = new InMemorySpanExporter()
  let spans: ReadableSpan[] = []
  const capture: SpanExporter = {
    export: (batch, done) => memory.export(batch, done),
    shutdown: async () => {
      spans = [...memory.getFinishedSpans()]
    },
  }
  const traceId = await sendTrace(capture, label)
  return { traceId, spans }
}

/** Calls the exporter the way a span processor does and returns its result. */
function exportOnce(exporter: SpanExporter, spans: ReadableSpan[]): Promise<{ code: number; error?: Error }> {
  return new Promise((resolve) => exporter.export(spans, resolve))
}

const exporters: Array<[string, () => SpanExporter]> = [
  ['protobuf', () => new ProtoExporter({ url: s.otlpUrl, headers: { authorization: `Bearer ${app.key}` } })],
  [
    'protobuf + gzip',
    () =>
      new ProtoExporter({
        url: s.otlpUrl,
        headers: { 'x-api-key': app.key },
        compression: CompressionAlgorithm.GZIP,
      }),
  ],
  ['JSON', () => new JsonExporter({ url: s.otlpUrl, headers: { authorization: `Bearer ${app.key}` } })],
  [
    'JSON + gzip',
    () =>
      new JsonExporter({
        url: s.otlpUrl,
        headers: { authorization: `Bearer ${app.key}` },
        compression: CompressionAlgorithm.GZIP,
      }),
  ],
]

describe('official exporters', () => {
  for (const [name, makeExporter] of exporters) {
    test(`${name}: spans are stored and read back through the API`, async () => {
      const traceId = await sendTrace(makeExporter(), name)
      const { status, body } = await s.api('GET', `/v1/traces/${traceId}?${rangeAroundNow()}`, app.key)
      assert.equal(status, 200, JSON.stringify(body))
      assert.equal(body.spans.length, 2)
      const root = body.spans.find((sp: any) => sp.name === 'workflow')
      const chat = body.spans.find((sp: any) => sp.name === `chat ${name}`)
      assert.ok(root && chat)
      assert.equal(root.parent_span_id, null)
      assert.equal(chat.parent_span_id, root.span_id)
      assert.equal(chat.trace_id, traceId)
      assert.match(chat.span_id, /^[0-9a-f]{16}$/)
      assert.equal(chat.application_id, app.id)
      assert.equal(chat.kind, 'client')
      assert.deepEqual(chat.status, { code: 'error', message: 'thumbs down' })
      assert.equal(chat.service_name, 'support-bot')
      assert.deepEqual(chat.scope, { name: 'spansift-test', version: '1.2.3' })
      assert.equal(chat.resource_attributes['deployment.environment'], 'test')
      assert.equal(chat.resource_attributes['spansift.application.id'], undefined)
      assert.equal(chat.attributes['gen_ai.request.model'], 'gpt-4o')
      assert.equal(chat.attributes['gen_ai.usage.input_tokens'], 412)
      assert.equal(chat.attributes['gen_ai.request.temperature'], 0.2)
      assert.deepEqual(chat.attributes['gen_ai.response.finish_reasons'], ['stop'])
      assert.equal(chat.attributes['llm.streaming'], false)
      assert.equal(chat.events[0].name, 'gen_ai.user.feedback')
      assert.equal(chat.events[0].attributes['feedback.score'], -1)
      assert.match(chat.start_time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/)
      assert.ok(BigInt(chat.duration_ns) >= 0n)
    })
  }

  test('the spans are in ClickHouse, once each, stamped with the application', async () => {
    const { spans } = tableNames(s.spansift.storage().runner.database)
    const rows = await s.spansift
      .storage()
      .runner.select<{ n: string; apps: string[] }>(
        'test',
        `SELECT count() AS n, groupUniqArray(toString(application_id)) AS apps FROM ${spans} FINAL`,
      )
    assert.equal(Number(rows[0]!.n), exporters.length * 2)
    assert.deepEqual(rows[0]!.apps, [app.id])
  })

  test('an export retried after success stores nothing twice', async () => {
    const { traceId, spans } = await recordTrace('retried')
    assert.equal(spans.length, 2)
    const exporter = new ProtoExporter({ url: s.otlpUrl, headers: { authorization: `Bearer ${app.key}` } })
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await exportOnce(exporter, spans)
      assert.equal(result.code, 0, String(result.error))
    }
    const { body } = await s.api('GET', `/v1/traces/${traceId}?${rangeAroundNow()}`, app.key)
    assert.equal(body.spans.length, 2)
  })

  test('an exporter with a wrong key is refused and told so', async () => {
    const { spans } = await recordTrace('unauthorized')
    const exporter = new ProtoExporter({ url: s.otlpUrl, headers: { authorization: 'Bearer ssk_not-a-key' } })
    const result = await exportOnce(exporter, spans)
    assert.equal(result.code, 1)
    assert.match(`${result.error?.message} ${JSON.stringify(result.error)}`, /401|Unauthorized|not valid/i)
  })
})

describe('reading traces back', () => {
  test('a key of another application cannot read the trace (404, existence not leaked)', async () => {
    const traceId = await sendTrace(
      new ProtoExporter({ url: s.otlpUrl, headers: { authorization: `Bearer ${app.key}` } }),
      'private',
    )
    const other = await s.createApplication('other-team')
    const theirs = await s.api('GET', `/v1/traces/${traceId}?${rangeAroundNow()}`, other.key)
    assert.equal(theirs.status, 404)
    assert.equal(theirs.body.error.code, 'not_found')
    const asOther = await s.api(
      'GET',
      `/v1/traces/${traceId}?${rangeAroundNow()}&application_id=${app.id}`,
      other.key,
    )
    assert.equal(asOther.status, 403)
    const admin = await s.api(
      'GET',
      `/v1/traces/${traceId}?${rangeAroundNow()}&application_id=${app.id}`,
      ADMIN_KEY,
    )
    assert.equal(admin.status, 200)
    assert.equal(admin.body.spans.length, 2)
  })

  test('a lookup must be bounded in time and well formed', async () => {
    const id = '0af7651916cd43dd8448eb211c80319c'
    const missing = await s.api('GET', `/v1/traces/${id}`, app.key)
    assert.equal(missing.status, 400)
    assert.equal(missing.body.error.code, 'range_not_bounded')
    const inverted = await s.api(
      'GET',
      `/v1/traces/${id}?start_time=2026-11-02T00:00:00Z&end_time=2026-11-01T00:00:00Z`,
      app.key,
    )
    assert.equal(inverted.status, 400)
    assert.match(inverted.body.error.message, /start_time must be before end_time/)
    const tooLong = await s.api(
      'GET',
      `/v1/traces/${id}?start_time=2025-01-01T00:00:00Z&end_time=2026-11-01T00:00:00Z`,
      app.key,
    )
    assert.equal(tooLong.status, 400)
    assert.equal(tooLong.body.error.code, 'range_not_bounded')
    const badId = await s.api('GET', `/v1/traces/abc?${rangeAroundNow()}`, app.key)
    assert.equal(badId.status, 400)
    assert.match(badId.body.error.message, /32 hex characters/)
  })
})

describe('applications and keys', () => {
  test('only the admin key manages applications; keys are shown once and work at once', async () => {
    const created = await s.createApplication('new-app')
    assert.match(created.id, /^[0-9a-f-]{36}$/)
    assert.match(created.key, /^ssk_/)
    const asApp = await s.api('POST', '/v1/applications', created.key, { name: 'sneaky' })
    assert.equal(asApp.status, 403)
    const noKey = await fetch(`${s.apiUrl}/v1/applications`, { method: 'POST', body: '{"name":"x"}' })
    assert.equal(noKey.status, 401)
    assert.equal(((await noKey.json()) as any).error.code, 'unauthenticated')
    const wrongKey = await s.api('POST', '/v1/applications', 'ssk_wrong', { name: 'x' })
    assert.equal(wrongKey.status, 401)
    const badBody = await s.api('POST', '/v1/applications', ADMIN_KEY, { name: '', extra: 1 })
    assert.equal(badBody.status, 400)
    const unknownApp = await s.api(
      'POST',
      '/v1/applications/3c90c3cc-0d44-4b50-8888-8dd25736052a/keys',
      ADMIN_KEY,
    )
    assert.equal(unknownApp.status, 404)
    const list = await s.api('GET', '/v1/applications', ADMIN_KEY)
    assert.ok(list.body.applications.some((a: any) => a.id === created.id && a.name === 'new-app'))
    const rows = await s.spansift
      .storage()
      .runner.select<{ key_hash: string }>(
        'test',
        `SELECT key_hash FROM ${tableNames(s.spansift.storage().runner.database).apiKeys}`,
      )
    assert.ok(rows.length >= 2)
    assert.ok(rows.every((r) => r.key_hash !== created.key && /^[0-9a-f]{64}$/.test(r.key_hash)))
  })
})
