import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { spansByRefsParams, spansByRefsQuery } from '@spansift/clickhouse/spans-repository'
import { tableNames } from '@spansift/clickhouse/tables'
import type { Span } from '@spansift/core/span-model'
import { ADMIN_KEY, type RunningSpansift, randomHex, recentSpan, startSpansift } from './test-harness.ts'

// POST /v3/evals/datasets/{dataset_id}/items/from-spans: validation, partition-bounded
// lookup, mapping and values, columns compatibility, idempotence and the leakage guard.
let s: RunningSpansift
let appA: { id: string; key: string }
let appB: { id: string; key: string }

before(async () => {
  // Spans of earlier months must survive the insert (the TTL drops older rows).
  s = await startSpansift({ SPANSIFT_SPAN_RETENTION_DAYS: '400' })
  appA = await s.createApplication('support-bot')
  appB = await s.createApplication('other-team')
})
after(async () => {
  await s.stop()
})

const insert = (spans: Span[]) => s.spansift.storage().spans.insert(spans)
const iso = (ms: number) => new Date(ms).toISOString()
const lastDay = () => ({ start_time: iso(Date.now() - 86_400_000), end_time: iso(Date.now() + 3_600_000) })
const refs = (spans: Span[]) => spans.map((sp) => ({ trace_id: sp.traceId, span_id: sp.spanId }))
const mapping = {
  inputs: { question: 'gen_ai.request.user_message' },
  expected_outputs: { answer: 'gen_ai.completion.content' },
}

async function chatSpans(applicationId: string, questions: string[]): Promise<Span[]> {
  const spans = questions.map((question, i) =>
    recentSpan({
      applicationId,
      traceId: randomHex(16),
      spanId: randomHex(8),
      attributes: { 'gen_ai.request.user_message': question, 'gen_ai.completion.content': `answer ${i}` },
    }),
  )
  await insert(spans)
  return spans
}

async function createDataset(key: string, body: Record<string, unknown>): Promise<{ id: string }> {
  const response = await s.api('POST', '/v1/datasets', key, body)
  assert.equal(response.status, 201, JSON.stringify(response.body))
  return response.body
}

function fromSpans(datasetId: string, body: Record<string, unknown>, key = appA.key) {
  return s.api('POST', `/v3/evals/datasets/${datasetId}/items/from-spans`, key, {
    application_id: appA.id,
    ...lastDay(),
    mapping,
    ...body,
  })
}

describe('validation', () => {
  let datasetId: string
  let spans: Span[]
  before(async () => {
    datasetId = (await createDataset(appA.key, { name: 'validation', kind: 'eval' })).id
    spans = await chatSpans(appA.id, ['q'])
  })

  test('every malformed request is refused with 400, naming the field', async () => {
    const many = Array.from({ length: 201 }, () => ({ trace_id: randomHex(16), span_id: randomHex(8) }))
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ spans: [] }, /spans/],
      [{ spans: many }, /spans/],
      [{ spans: [{ trace_id: 'abc', span_id: spans[0]!.spanId }] }, /trace_id must be 32 hex/],
      [{ spans: [{ trace_id: spans[0]!.traceId, span_id: 'x' }] }, /span_id must be 16 hex/],
      [{ spans: refs(spans), application_id: 'not-a-uuid' }, /application_id/],
      [{ spans: refs(spans), mapping: { inputs: { q: 'x' }, outputs: {} } }, /mapping/],
      [{ spans: refs(spans), mapping: undefined }, /mapping/],
      [
        { spans: refs(spans), start_time: iso(Date.now()), end_time: iso(Date.now() - 1000) },
        /start_time must be before/,
      ],
      [
        { spans: refs(spans), start_time: iso(Date.now()), end_time: iso(Date.now()) },
        /start_time must be before/,
      ],
      [{ spans: refs(spans), start_time: 'yesterday' }, /start_time must be an RFC 3339/],
      [{ spans: refs(spans), end_time: undefined }, /end_time/],
    ]
    for (const [body, message] of cases) {
      const response = await fromSpans(datasetId, body)
      assert.equal(response.status, 400, JSON.stringify([body, response.body]))
      assert.match(response.body.error.message, message, JSON.stringify(body).slice(0, 200))
    }
    const unbounded = await fromSpans(datasetId, {
      spans: refs(spans),
      start_time: iso(Date.now() - 200 * 86_400_000),
      end_time: iso(Date.now()),
    })
    assert.equal(unbounded.status, 400)
    assert.equal(unbounded.body.error.code, 'range_not_bounded')
    const dataset = `/v3/evals/datasets/not-a-uuid/items/from-spans`
    assert.equal((await s.api('POST', dataset, appA.key, { spans: refs(spans) })).status, 400)
    const text = await fetch(`${s.apiUrl}/v3/evals/datasets/${datasetId}/items/from-spans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${appA.key}`, 'content-type': 'application/json' },
      body: '{not json',
    })
    assert.equal(text.status, 400)
  })

  test("the application must be the dataset's; another application's dataset is 404", async () => {
    const adminOther = await fromSpans(datasetId, { spans: refs(spans), application_id: appB.id }, ADMIN_KEY)
    assert.equal(adminOther.status, 400)
    assert.match(adminOther.body.error.message, /application_id must be the dataset's application/)
    const keyOther = await fromSpans(datasetId, { spans: refs(spans), application_id: appB.id })
    assert.equal(keyOther.status, 403)
    assert.equal((await fromSpans(datasetId, { spans: refs(spans) }, appB.key)).status, 404)
    assert.equal((await fromSpans(datasetId, { spans: refs(spans) }, 'nope')).status, 401)
    assert.equal((await fromSpans(datasetId, { spans: refs(spans) }, ADMIN_KEY)).status, 200)
  })
})

describe('lookup', () => {
  test('answers the hosted shape, reports unmatched refs, and is idempotent', async () => {
    const { id } = await createDataset(appA.key, { name: 'lookup', kind: 'eval' })
    const spans = await chatSpans(appA.id, ['a', 'b'])
    const [otherApp] = await chatSpans(appB.id, ['c'])
    const ghost = { trace_id: randomHex(16), span_id: randomHex(8) }
    const body = { spans: [...refs(spans), ghost, ...refs([otherApp!]), refs(spans)[0]] }
    const first = await fromSpans(id, body)
    assert.equal(first.status, 200, JSON.stringify(first.body))
    assert.equal(first.body.api_version, '3.0')
    assert.equal(first.body.kind, 'NORMAL')
    assert.deepEqual(
      first.body.data.items.map((i: { trace_id: string; span_id: string }) => [i.trace_id, i.span_id]).sort(),
      spans.map((sp) => [sp.traceId, sp.spanId]).sort(),
    )
    for (const item of first.body.data.items) assert.match(item.item_id, /^[0-9a-f-]{36}$/)
    // Unknown refs and another application's spans are reported, never silently ignored.
    assert.deepEqual(first.body.data.not_found, [
      ghost,
      { trace_id: otherApp!.traceId, span_id: otherApp!.spanId },
    ])
    assert.equal(first.body.data.added, 2)
    assert.match(first.body.data.warnings.join(), /2 of 4 span refs match no span/)
    const second = await fromSpans(id, body)
    assert.deepEqual(second.body.data.items, first.body.data.items)
    assert.equal(second.body.data.added, 0)
    assert.equal((await s.api('GET', `/v1/datasets/${id}`, appA.key)).body.row_count, 2)
  })

  test('a span outside the time range is not found, and the query reads only the range’s partitions', async () => {
    const { id } = await createDataset(appA.key, { name: 'partitions', kind: 'eval' })
    const now = new Date()
    const monthStart = (offset: number) => Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)
    // One span at the middle of each of the last three months.
    const spans = [-2, -1, 0].map((offset) => {
      const startMs = offset === 0 ? Date.now() - 60_000 : monthStart(offset) + 3_600_000
      const start = BigInt(startMs) * 1_000_000n
      return recentSpan({
        applicationId: appA.id,
        traceId: randomHex(16),
        spanId: randomHex(8),
        startTimeUnixNano: start,
        endTimeUnixNano: start + 1000n,
        attributes: { 'gen_ai.request.user_message': `month ${offset}` },
      })
    })
    await insert(spans)
    const oneMonth = { start_time: iso(monthStart(-1)), end_time: iso(monthStart(0)) }
    const response = await fromSpans(id, { spans: refs(spans), ...oneMonth })
    assert.equal(response.status, 200, JSON.stringify(response.body))
    assert.deepEqual(
      response.body.data.items.map((i: { span_id: string }) => i.span_id),
      [spans[1]!.spanId],
    )
    assert.equal(response.body.data.not_found.length, 2)

    // The endpoint's own SQL, explained: partitions of other months are never read.
    const runner = s.spansift.storage().runner
    const params = spansByRefsParams(
      appA.id,
      spans.map((sp) => ({ traceId: sp.traceId, spanId: sp.spanId })),
      { fromUnixNano: BigInt(monthStart(-1)) * 1_000_000n, toUnixNano: BigInt(monthStart(0)) * 1_000_000n },
    )
    const plan = await runner.select<{ explain: string }>(
      'test',
      `EXPLAIN indexes = 1 ${spansByRefsQuery(tableNames(runner.database).spans)}`,
      params,
    )
    const text = plan.map((r) => r.explain).join('\n')
    const partition = /Partition[\s\S]*?Parts: (\d+)\/(\d+)/.exec(text)
    const minMax = /Min-Max[\s\S]*?Parts: (\d+)\/(\d+)/.exec(text)
    assert.ok(partition && minMax, text)
    const [, partsKept] = partition
    assert.ok(Number(minMax[2]) >= 3, text) // the table has parts of all three months
    assert.equal(Number(minMax[1]), 1, text) // the time range keeps one
    assert.equal(Number(partsKept), 1, text)
    assert.match(text, /PrimaryKey[\s\S]*?Condition: .*\(trace_id, span_id\) in/)
  })

  test('values: text stays text, images and PDFs become references, structures stay structures', async () => {
    const { id } = await createDataset(appA.key, { name: 'values', kind: 'eval' })
    const span = recentSpan({
      applicationId: appA.id,
      traceId: randomHex(16),
      spanId: randomHex(8),
      attributes: {
        question: 'what is in the picture?',
        image: 'https://cdn.example.com/u/cat.png',
        invoice: 'data:application/pdf;base64,JVBERi0xLjQ=',
        messages: [{ role: 'user', content: 'hi' }],
        tokens: 12,
      },
    })
    await insert([span])
    const response = await fromSpans(id, {
      spans: refs([span]),
      mapping: {
        inputs: {
          question: 'question',
          image: 'image',
          invoice: 'invoice',
          messages: 'messages',
          absent: 'no.such',
        },
        metadata: { tokens: 'tokens', service: 'service.name', span: 'span.name' },
      },
    })
    assert.equal(response.status, 200, JSON.stringify(response.body))
    const [item] = (await s.api('GET', `/v1/datasets/${id}/items`, appA.key)).body.items
    assert.deepEqual(item.inputs, {
      question: 'what is in the picture?',
      image: { type: 'image', ref: 'https://cdn.example.com/u/cat.png' },
      invoice: { type: 'pdf', ref: 'data:application/pdf;base64,JVBERi0xLjQ=' },
      messages: [{ role: 'user', content: 'hi' }],
    })
    assert.deepEqual(item.metadata, { tokens: 12, service: 'support-bot', span: 'chat gpt-4o' })
    // `absent` resolved in no row: the answer says so.
    assert.deepEqual(response.body.data.warnings, [
      'mapping resolved to nothing in all 1 row: inputs.absent (no.such)',
    ])
  })
})

describe('columns compatibility', () => {
  test('an empty dataset bootstraps; then a span with a variable it has no column for is refused', async () => {
    const { id } = await createDataset(appA.key, { name: 'columns', kind: 'eval' })
    await fromSpans(id, { spans: refs(await chatSpans(appA.id, ['first'])) })
    const dataset = (await s.api('GET', `/v1/datasets/${id}`, appA.key)).body
    assert.deepEqual(dataset.columns, [
      { name: 'question', bucket: 'inputs' },
      { name: 'answer', bucket: 'expected_outputs' },
    ])
    const spans = await chatSpans(appA.id, ['second'])
    const refused = await fromSpans(id, {
      spans: refs(spans),
      mapping: { ...mapping, inputs: { question: 'gen_ai.request.user_message', context: 'span.name' } },
    })
    assert.equal(refused.status, 422)
    assert.equal(refused.body.error.code, 'incompatible_columns')
    assert.match(refused.body.error.message, /no column for inputs\.context/)
    assert.deepEqual(refused.body.error.details.missing_columns, ['inputs.context'])
    assert.equal((await s.api('GET', `/v1/datasets/${id}`, appA.key)).body.row_count, 1)
    // A subset of the columns (no answer here), and free-form metadata, are accepted.
    const subset = await fromSpans(id, {
      spans: refs(spans),
      mapping: { inputs: mapping.inputs, metadata: { anything: 'span.name' } },
    })
    assert.equal(subset.status, 200, JSON.stringify(subset.body))
    assert.equal((await s.api('GET', `/v1/datasets/${id}`, appA.key)).body.row_count, 2)
  })
})

describe('leakage guard', () => {
  test('a training dataset never takes the excluded eval dataset’s spans or identical inputs', async () => {
    const evalSet = await createDataset(appA.key, { name: 'eval', kind: 'eval' })
    const training = await createDataset(appA.key, {
      name: 'train',
      kind: 'training',
      exclude_dataset_id: evalSet.id,
    })
    const inEval = await chatSpans(appA.id, ['e1', 'e2', 'e3'])
    assert.equal((await fromSpans(evalSet.id, { spans: refs(inEval) })).status, 200)

    // 1 of 4 overlaps (25%): excluded, no warning.
    const fresh = await chatSpans(appA.id, ['t1', 't2', 't3'])
    const quarter = await fromSpans(training.id, { spans: refs([inEval[0]!, ...fresh]) })
    assert.equal(quarter.status, 200, JSON.stringify(quarter.body))
    assert.equal(quarter.body.data.excluded, 1)
    assert.deepEqual(quarter.body.data.excluded_spans, refs([inEval[0]!]))
    assert.equal(quarter.body.data.items.length, 3)
    assert.deepEqual(quarter.body.data.warnings, [])

    // Identical inputs from another span count as overlap; 2 of 3 (67%) warns.
    const sameQuestion = await chatSpans(appA.id, ['e2', 't9'])
    const mostly = await fromSpans(training.id, { spans: refs([inEval[1]!, ...sameQuestion]) })
    assert.equal(mostly.status, 200)
    assert.equal(mostly.body.data.excluded, 2)
    assert.match(mostly.body.data.warnings.join(), /2 of 3 candidates \(67%\) overlap/)

    // All of it overlaps: refused, nothing added.
    const all = await fromSpans(training.id, { spans: refs(inEval) })
    assert.equal(all.status, 409)
    assert.equal(all.body.error.code, 'leakage_all_excluded')
    const rows = (await s.api('GET', `/v1/datasets/${training.id}/items`, appA.key)).body.items
    assert.equal(rows.length, 4)
    const sources = new Set(rows.map((r: { source: { span_id: string } }) => r.source.span_id))
    for (const sp of inEval) assert.ok(!sources.has(sp.spanId))

    // A span added to the eval dataset later leaves the training dataset that excludes it.
    const moved = await fromSpans(evalSet.id, { spans: refs([fresh[0]!]) })
    assert.equal(moved.status, 200)
    const afterMove = (await s.api('GET', `/v1/datasets/${training.id}/items`, appA.key)).body.items
    assert.equal(afterMove.length, 3)
    assert.ok(!afterMove.some((r: { source: { span_id: string } }) => r.source.span_id === fresh[0]!.spanId))
  })
})
