import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { formatRfc3339Nano } from '@spansift/core/time'
import { ADMIN_KEY, type RunningSpansift, randomHex, recentSpan, startSpansift } from './test-harness.ts'

// One format across the API and the exports (real server, embedded ClickHouse): every
// time is RFC 3339 UTC with a Z; a field named `*_time` (or `time`) is a span time with its
// nine nanosecond digits, a field named `*_at` a record time in milliseconds. And one rule
// for 64-bit integers (README, "Output formats").
const SPAN_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/
const RECORD_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

let s: RunningSpansift
let app: { id: string; key: string }
const traceId = randomHex(16)
const spanId = randomHex(8)
// A start time with every nanosecond digit set, so a format that drops some shows.
const startNano = (BigInt(Date.now() - 3_600_000) / 1000n) * 1_000_000_000n + 123_456_789n
const eventNano = startNano + 987_654_321n

before(async () => {
  s = await startSpansift()
  app = await s.createApplication('formats-bot')
  await s.spansift.storage().spans.insert([
    recentSpan({
      applicationId: app.id,
      traceId,
      spanId,
      startTimeUnixNano: startNano,
      endTimeUnixNano: startNano + 1_000_000_001n,
      durationNano: 1_000_000_001n,
      attributes: { 'gen_ai.prompt': 'when does it ship?', 'gen_ai.completion': 'in 2 days' },
      events: [{ timeUnixNano: eventNano, name: 'gen_ai.choice', attributes: {} }],
    }),
  ])
})
after(() => s?.stop())

/** Every (path, value) of a JSON document whose key names a time, checked against the rule. */
function assertTimes(document: unknown, where: string): number {
  assertIntegers(document, where)
  let checked = 0
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, `${path}[${i}]`)
      return
    }
    if (value === null || typeof value !== 'object') return
    for (const [key, v] of Object.entries(value)) {
      const at = `${path}.${key}`
      if (key.endsWith('_at') && v !== null) {
        assert.match(String(v), RECORD_TIME, `${where} ${at}`)
        checked++
      } else if ((key === 'time' || key.endsWith('_time')) && v !== null) {
        assert.match(String(v), SPAN_TIME, `${where} ${at}`)
        checked++
      } else walk(v, at)
    }
  }
  walk(document, '')
  return checked
}

const range = () => ({
  start_time: new Date(Date.now() - 3 * 3_600_000).toISOString(),
  end_time: new Date(Date.now() + 60_000).toISOString(),
})

async function ok(method: string, path: string, body?: unknown, key = app.key) {
  const response = await s.api(method, path, key, body)
  assert.ok(
    response.status >= 200 && response.status < 300,
    `${method} ${path}: ${JSON.stringify(response.body)}`,
  )
  return response.body
}

test('the API: spans, applications, datasets, items, versions, claims, backfills and rules', async () => {
  const q = `start_time=${range().start_time}&end_time=${range().end_time}`
  const trace = await ok('GET', `/v1/traces/${traceId}?${q}`)
  assert.equal(trace.spans[0].start_time, formatRfc3339Nano(startNano))
  assert.equal(trace.spans[0].end_time, formatRfc3339Nano(startNano + 1_000_000_001n))
  assert.equal(trace.spans[0].events[0].time, formatRfc3339Nano(eventNano))
  assert.equal(assertTimes(trace, 'GET /v1/traces'), 3)

  const applications = await ok('GET', '/v1/applications', undefined, ADMIN_KEY)
  // The stored created_at, not ClickHouse's `2026-12-02 03:01:16.410`.
  assert.ok(assertTimes(applications, 'GET /v1/applications') >= 1)

  const searched = await ok('POST', '/v1/spans/search', range())
  assert.equal(searched.spans[0].start_time, formatRfc3339Nano(startNano))
  assertTimes(searched, 'POST /v1/spans/search')

  const dataset = await ok('POST', '/v1/datasets', { name: 'formats', kind: 'eval' })
  assert.match(dataset.created_at, RECORD_TIME)
  let job = await ok('POST', `/v1/datasets/${dataset.id}/items/from-search`, {
    ...range(),
    mapping: { inputs: { input: 'input' }, expected_outputs: { output: 'output' } },
  })
  for (let i = 0; i < 200 && job.state === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 50))
    job = await ok('GET', `/v1/rules/backfills/${job.backfill_id}`)
  }
  assert.equal(job.state, 'done', JSON.stringify(job))
  assert.equal(assertTimes(job, 'backfill status'), 4) // start_time, end_time, started_at, finished_at

  const items = await ok('GET', `/v1/datasets/${dataset.id}/items`)
  assert.equal(items.items[0].source.span_start_time, formatRfc3339Nano(startNano))
  assert.equal(assertTimes(items, 'GET items'), 3) // span_start_time, created_at, updated_at

  const claim = await ok('POST', `/v1/datasets/${dataset.id}/queue/claim`, { reviewer: 'ana' })
  assert.equal(assertTimes(claim.claim, 'claim'), 2)

  await ok('POST', `/v1/datasets/${dataset.id}/publish`)
  const published = await ok('GET', `/v1/datasets/${dataset.id}`)
  // dataset created_at, version created_at and published_at
  assert.equal(assertTimes(published, 'GET dataset'), 3)
  assertTimes(await ok('GET', '/v1/datasets'), 'GET /v1/datasets')
  assertTimes(await ok('GET', '/v1/rules', undefined, ADMIN_KEY), 'GET /v1/rules')

  // The exports carry the same text as the API for the same row.
  const [item] = items.items
  const jsonl = await download(`/v1/datasets/${dataset.id}/export?format=jsonl`)
  const [line] = jsonl
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.equal(line.source.span_start_time, item.source.span_start_time)
  assert.equal(line.created_at, item.created_at)
  assert.equal(assertTimes(line, 'JSONL export'), 2)

  // Parquet stays typed: UTC timestamps of the stored precision, the same instants.
  const parquet = await fetch(`${s.apiUrl}/v1/datasets/${dataset.id}/export?format=parquet`, {
    headers: { authorization: `Bearer ${app.key}` },
  })
  const [typed] = await s.spansift.storage().runner.select<Record<string, string>>(
    'test.parquet',
    `SELECT toTypeName(created_at) AS created_type, toTypeName(source.span_start_time) AS start_type,
       toString(created_at) AS created, toString(source.span_start_time) AS start
     FROM format(Parquet, base64Decode({data:String}))`,
    { data: Buffer.from(await parquet.arrayBuffer()).toString('base64') },
  )
  assert.match(typed!.created_type!, /^DateTime64\(3, 'UTC'\)$/)
  assert.match(typed!.start_type!, /^DateTime64\(9, 'UTC'\)$/)
  assert.equal(`${typed!.start!.replace(' ', 'T')}Z`, item.source.span_start_time)
  assert.equal(`${typed!.created!.replace(' ', 'T')}Z`, item.created_at)

  const csv = (await download(`/v1/datasets/${dataset.id}/export?format=csv`)).trim().split('\n')
  assert.equal(csv.length, 2)
  assert.ok(csv[1]!.includes(`"${item.source.span_start_time}"`), csv[1])
  assert.ok(csv[1]!.endsWith(`"${item.created_at}"`), csv[1])
})

/**
 * The 64-bit rule outside attribute values: counts, sizes and versions are JSON numbers
 * below 2^53; a nanosecond quantity (`*_ns`) is a decimal string.
 */
function assertIntegers(document: unknown, where: string): void {
  const VALUES = new Set([
    'attributes',
    'resource_attributes',
    'inputs',
    'expected_outputs',
    'metadata',
    'extras',
  ])
  const walk = (value: unknown, path: string, key: string): void => {
    if (typeof value === 'number' && Number.isInteger(value))
      assert.ok(Number.isSafeInteger(value), `${where} ${path} is past 2^53`)
    if (typeof value === 'string' && /^-?\d+$/.test(value) && !key.endsWith('_id'))
      assert.ok(key.endsWith('_ns'), `${where} ${path} is an integer as a string`)
    if (key.endsWith('_ns')) assert.match(String(value), /^\d+$/, `${where} ${path}`)
    if (value === null || typeof value !== 'object') return
    for (const [k, v] of Object.entries(value)) if (!VALUES.has(k)) walk(v, `${path}.${k}`, k)
  }
  walk(document, '', '')
}

test('64-bit integers: an int64 attribute is a JSON number with its exact digits, from OTLP to the API and the exports', async () => {
  const bigTrace = randomHex(16)
  const now = (BigInt(Date.now()) * 1_000_000n).toString()
  const otlp = await fetch(s.otlpUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${app.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: bigTrace,
                  spanId: randomHex(8),
                  name: 'big ints',
                  startTimeUnixNano: now,
                  endTimeUnixNano: now,
                  attributes: [
                    // OTLP/JSON writes int64 as a string; both are ints on the wire.
                    { key: 'request.id', value: { intValue: '9223372036854775807' } },
                    { key: 'gen_ai.usage.input_tokens', value: { intValue: 412 } },
                    { key: 'gen_ai.prompt', value: { stringValue: 'hi' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    }),
  })
  assert.equal(otlp.status, 200)
  const q = `start_time=${range().start_time}&end_time=${range().end_time}`
  const trace = await fetch(`${s.apiUrl}/v1/traces/${bigTrace}?${q}`, {
    headers: { authorization: `Bearer ${app.key}` },
  })
  const text = await trace.text()
  assert.match(text, /"request\.id":9223372036854775807[,}]/)
  assert.match(text, /"gen_ai\.usage\.input_tokens":412[,}]/)
  const parsed = JSON.parse(text)
  assert.match(parsed.spans[0].duration_ns, /^\d+$/)
  assertIntegers(parsed, 'GET /v1/traces')

  const dataset = await ok('POST', '/v1/datasets', { name: 'big ints', kind: 'eval' })
  const added = await ok('POST', `/v3/evals/datasets/${dataset.id}/items/from-spans`, {
    application_id: app.id,
    ...range(),
    spans: [{ trace_id: bigTrace, span_id: parsed.spans[0].span_id }],
    mapping: {
      inputs: { q: 'gen_ai.prompt' },
      metadata: { request_id: 'request.id', duration: 'span.duration_ns' },
    },
  })
  assertIntegers(added, 'from-spans')
  const items = await fetch(`${s.apiUrl}/v1/datasets/${dataset.id}/items`, {
    headers: { authorization: `Bearer ${app.key}` },
  })
  const itemsText = await items.text()
  assert.match(itemsText, /"request_id":9223372036854775807[,}]/)
  assertIntegers(JSON.parse(itemsText), 'GET items')
  assertIntegers(await ok('GET', `/v1/datasets/${dataset.id}`), 'GET dataset')
  assert.match(
    await download(`/v1/datasets/${dataset.id}/export?format=jsonl`),
    /"request_id":9223372036854775807[,}]/,
  )
  assert.match(
    await download(`/v1/datasets/${dataset.id}/export?format=csv`),
    /""request_id"":9223372036854775807[,}]/,
  )
})

async function download(path: string): Promise<string> {
  const response = await fetch(`${s.apiUrl}${path}`, { headers: { authorization: `Bearer ${app.key}` } })
  assert.equal(response.status, 200)
  return response.text()
}
