import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Span } from '@spansift/core/span-model'
import { ADMIN_KEY, type RunningSpansift, randomHex, recentSpan, startSpansift } from './test-harness.ts'

// Datasets end to end through the HTTP API: CRUD, isolation between two applications,
// the review queue, versions, exports, add-trace and the OpenAPI document.
let s: RunningSpansift
let appA: { id: string; key: string }
let appB: { id: string; key: string }

before(async () => {
  s = await startSpansift()
  appA = await s.createApplication('support-bot')
  appB = await s.createApplication('other-team')
})
after(async () => {
  await s.stop()
})

const insert = (spans: Span[]) => s.spansift.storage().spans.insert(spans)
const range = () => ({
  start_time: new Date(Date.now() - 86_400_000).toISOString(),
  end_time: new Date(Date.now() + 3_600_000).toISOString(),
})
const mapping = {
  inputs: { question: 'gen_ai.request.user_message' },
  expected_outputs: { answer: 'gen_ai.completion.content' },
  metadata: { trace_id: 'trace.id', model: 'gen_ai.request.model' },
}

/** `n` chat spans of `applicationId`, each its own trace. */
async function chatSpans(applicationId: string, n: number, label = 'q'): Promise<Span[]> {
  const spans = Array.from({ length: n }, (_, i) =>
    recentSpan({
      applicationId,
      traceId: randomHex(16),
      spanId: randomHex(8),
      attributes: {
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.request.user_message': `${label} ${i}?`,
        'gen_ai.completion.content': `answer ${i}`,
      },
    }),
  )
  await insert(spans)
  return spans
}

const refs = (spans: Span[]) => spans.map((sp) => ({ trace_id: sp.traceId, span_id: sp.spanId }))

async function createDataset(key: string, body: Record<string, unknown>) {
  const response = await s.api('POST', '/v1/datasets', key, body)
  assert.equal(response.status, 201, JSON.stringify(response.body))
  return response.body
}

async function fromSpans(datasetId: string, key: string, spans: Span[], applicationId = appA.id) {
  return s.api('POST', `/v3/evals/datasets/${datasetId}/items/from-spans`, key, {
    application_id: applicationId,
    ...range(),
    spans: refs(spans),
    mapping,
  })
}

describe('datasets', () => {
  test('create answers the contract shape, with a draft version and no columns yet', async () => {
    const dataset = await createDataset(appA.key, { name: 'support eval', kind: 'eval' })
    assert.match(dataset.id, /^[0-9a-f-]{36}$/)
    assert.ok(Number.isSafeInteger(dataset.group_id) && dataset.group_id > 0)
    assert.equal(dataset.application_id, appA.id)
    assert.equal(dataset.kind, 'eval')
    assert.equal(dataset.exclude_dataset_id, null)
    assert.equal(dataset.row_count, 0)
    assert.deepEqual(dataset.columns, [])
    assert.equal(dataset.versions.length, 1)
    assert.equal(dataset.versions[0].status, 'draft')
    assert.equal(dataset.versions[0].number, 1)
    const got = await s.api('GET', `/v1/datasets/${dataset.id}`, appA.key)
    assert.equal(got.status, 200)
    assert.deepEqual(got.body, dataset)
  })

  test('refusals: no key, bad body, admin without application, key of another application', async () => {
    assert.equal((await s.api('POST', '/v1/datasets', 'wrong-key', { name: 'x', kind: 'eval' })).status, 401)
    const badKind = await s.api('POST', '/v1/datasets', appA.key, { name: 'x', kind: 'golden' })
    assert.equal(badKind.status, 400)
    assert.equal(badKind.body.error.code, 'invalid_argument')
    assert.equal(
      (await s.api('POST', '/v1/datasets', appA.key, { name: 'x', kind: 'eval', extra: 1 })).status,
      400,
    )
    const noApp = await s.api('POST', '/v1/datasets', ADMIN_KEY, { name: 'x', kind: 'eval' })
    assert.equal(noApp.status, 400)
    assert.match(noApp.body.error.message, /application_id is required/)
    const otherApp = await s.api('POST', '/v1/datasets', appA.key, {
      name: 'x',
      kind: 'eval',
      application_id: appB.id,
    })
    assert.equal(otherApp.status, 403)
    const unknownApp = await s.api('POST', '/v1/datasets', ADMIN_KEY, {
      name: 'x',
      kind: 'eval',
      application_id: '00000000-0000-4000-8000-000000000000',
    })
    assert.equal(unknownApp.status, 404)
    const admin = await createDataset(ADMIN_KEY, { name: 'by admin', kind: 'eval', application_id: appB.id })
    assert.equal(admin.application_id, appB.id)
  })

  test('a training dataset may exclude an eval dataset of its own application, nothing else', async () => {
    const evalA = await createDataset(appA.key, { name: 'eval A', kind: 'eval' })
    const evalB = await createDataset(appB.key, { name: 'eval B', kind: 'eval' })
    const training = await createDataset(appA.key, {
      name: 'train A',
      kind: 'training',
      exclude_dataset_id: evalA.id,
    })
    assert.equal(training.exclude_dataset_id, evalA.id)
    const refusals = [
      { name: 't', kind: 'training', exclude_dataset_id: training.id }, // a training dataset
      { name: 't', kind: 'training', exclude_dataset_id: evalB.id }, // another application's
      { name: 't', kind: 'training', exclude_dataset_id: '00000000-0000-4000-8000-000000000000' }, // none
      { name: 't', kind: 'eval', exclude_dataset_id: evalA.id }, // eval datasets do not exclude
      { name: 't', kind: 'training', exclude_dataset_id: 'not-a-uuid' },
    ]
    for (const body of refusals) {
      const response = await s.api('POST', '/v1/datasets', appA.key, body)
      assert.equal(response.status, 400, JSON.stringify(body))
      assert.equal(response.body.error.code, 'invalid_argument')
    }
    // Deleting an eval dataset a training dataset excludes is refused.
    const del = await s.api('DELETE', `/v1/datasets/${evalA.id}`, appA.key)
    assert.equal(del.status, 409)
    assert.equal((await s.api('DELETE', `/v1/datasets/${training.id}`, appA.key)).status, 204)
    assert.equal((await s.api('DELETE', `/v1/datasets/${evalA.id}`, appA.key)).status, 204)
    assert.equal((await s.api('GET', `/v1/datasets/${evalA.id}`, appA.key)).status, 404)
  })

  test('another application’s dataset is 404 everywhere; the admin sees all', async () => {
    const dataset = await createDataset(appB.key, { name: 'secret', kind: 'eval' })
    const spans = await chatSpans(appB.id, 1)
    const added = await fromSpans(dataset.id, appB.key, spans, appB.id)
    assert.equal(added.status, 200, JSON.stringify(added.body))
    const itemId = added.body.data.items[0].item_id
    const base = `/v1/datasets/${dataset.id}`
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', base],
      ['DELETE', base],
      ['POST', `${base}/publish`],
      ['GET', `${base}/items`],
      ['GET', `${base}/items/${itemId}`],
      ['PATCH', `${base}/items/${itemId}`, { annotation: 'x' }],
      ['DELETE', `${base}/items/${itemId}`],
      ['GET', `${base}/export?format=jsonl`],
    ]
    for (const [method, path, body] of attempts) {
      const response = await s.api(method, path, appA.key, body)
      assert.equal(response.status, 404, `${method} ${path}`)
      assert.equal(response.body.error.code, 'not_found')
    }
    const viaFromSpans = await fromSpans(dataset.id, appA.key, spans)
    assert.equal(viaFromSpans.status, 404)
    const viaAddTrace = await s.api('POST', '/api/public/v2/dataset-versions/add-trace', appA.key, {
      dataset_group_id: dataset.group_id,
      trace_id: spans[0]!.traceId,
    })
    assert.equal(viaAddTrace.status, 404)
    assert.equal((await s.api('GET', base, ADMIN_KEY)).status, 200)
    const listA = await s.api('GET', '/v1/datasets', appA.key)
    assert.ok(listA.body.datasets.every((d: { application_id: string }) => d.application_id === appA.id))
    assert.equal((await s.api('GET', `/v1/datasets?application_id=${appB.id}`, appA.key)).status, 403)
    const listB = await s.api('GET', `/v1/datasets?application_id=${appB.id}`, ADMIN_KEY)
    assert.ok(listB.body.datasets.some((d: { id: string }) => d.id === dataset.id))
    assert.equal((await s.api('GET', '/v1/datasets/not-a-uuid', appA.key)).status, 400)
    assert.equal(
      (await s.api('GET', '/v1/datasets/00000000-0000-4000-8000-000000000000', ADMIN_KEY)).status,
      404,
    )
  })
})

describe('review queue', () => {
  let datasetId: string
  let itemIds: string[]

  before(async () => {
    datasetId = (await createDataset(appA.key, { name: 'queue', kind: 'eval' })).id
    const added = await fromSpans(datasetId, appA.key, await chatSpans(appA.id, 5))
    assert.equal(added.status, 200)
    itemIds = added.body.data.items.map((i: { item_id: string }) => i.item_id)
  })

  test('rows carry inputs, outputs, metadata, source and empty annotations', async () => {
    const { body } = await s.api('GET', `/v1/datasets/${datasetId}/items?limit=1`, appA.key)
    const [item] = body.items
    assert.match(item.inputs.question, /^q \d\?$/)
    assert.match(item.expected_outputs.answer, /^answer \d$/)
    assert.equal(item.metadata.model, 'gpt-4o')
    assert.equal(item.source.application_id, appA.id)
    assert.equal(item.source.kind, 'api')
    assert.match(item.source.span_start_time, /^\d{4}-\d\d-\d\dT.*Z$/)
    assert.equal(item.annotation_status, 'empty')
    assert.equal(item.annotation, null)
    assert.equal(item.priority, null)
    assert.deepEqual(item.labels, [])
  })

  test('cursor pagination walks every row once', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const query: string = cursor ? `limit=2&cursor=${cursor}` : 'limit=2'
      const page = await s.api('GET', `/v1/datasets/${datasetId}/items?${query}`, appA.key)
      assert.equal(page.status, 200)
      assert.ok(page.body.items.length <= 2)
      seen.push(...page.body.items.map((i: { item_id: string }) => i.item_id))
      cursor = page.body.next_cursor
    } while (cursor)
    assert.deepEqual([...seen].sort(), [...itemIds].sort())
    assert.equal((await s.api('GET', `/v1/datasets/${datasetId}/items?cursor=garbage`, appA.key)).status, 400)
    assert.equal((await s.api('GET', `/v1/datasets/${datasetId}/items?limit=0`, appA.key)).status, 400)
    assert.equal(
      (await s.api('GET', `/v1/datasets/${datasetId}/items?annotation_status=done`, appA.key)).status,
      400,
    )
  })

  test('PATCH annotates a row; filters combine; DELETE removes it', async () => {
    const [first, second] = itemIds
    const patched = await s.api('PATCH', `/v1/datasets/${datasetId}/items/${first}`, appA.key, {
      annotation: 'made up a shipping date',
      annotation_status: 'filled',
      feedback_category: 'hallucination',
      expected_output: 'I cannot see your order.',
      priority: 'high',
      labels: ['shipping'],
    })
    assert.equal(patched.status, 200, JSON.stringify(patched.body))
    assert.equal(patched.body.annotation_status, 'filled')
    assert.equal(patched.body.feedback_category, 'hallucination')
    assert.deepEqual(patched.body.labels, ['shipping'])
    await s.api('PATCH', `/v1/datasets/${datasetId}/items/${second}`, appA.key, {
      feedback_category: 'hallucination',
      priority: 'low',
    })
    const empty = await s.api('GET', `/v1/datasets/${datasetId}/items?annotation_status=empty`, appA.key)
    assert.equal(empty.body.items.length, 4)
    assert.ok(!empty.body.items.some((i: { item_id: string }) => i.item_id === first))
    const combined = await s.api(
      'GET',
      `/v1/datasets/${datasetId}/items?feedback_category=hallucination&priority=high`,
      appA.key,
    )
    assert.deepEqual(
      combined.body.items.map((i: { item_id: string }) => i.item_id),
      [first],
    )
    const since = new Date(Date.now() + 60_000).toISOString()
    const future = await s.api('GET', `/v1/datasets/${datasetId}/items?created_from=${since}`, appA.key)
    assert.equal(future.body.items.length, 0)
    const byRule = await s.api('GET', `/v1/datasets/${datasetId}/items?rule_id=some-rule`, appA.key)
    assert.equal(byRule.body.items.length, 0)
    // Clearing a field with null.
    const cleared = await s.api('PATCH', `/v1/datasets/${datasetId}/items/${first}`, appA.key, {
      priority: null,
    })
    assert.equal(cleared.body.priority, null)
    assert.equal(cleared.body.annotation_status, 'filled')
    assert.equal((await s.api('PATCH', `/v1/datasets/${datasetId}/items/${first}`, appA.key, {})).status, 400)
    assert.equal(
      (await s.api('PATCH', `/v1/datasets/${datasetId}/items/${first}`, appA.key, { priority: 'urgent' }))
        .status,
      400,
    )
    const missing = await s.api('PATCH', `/v1/datasets/${datasetId}/items/${randomUuid()}`, appA.key, {
      annotation: 'x',
    })
    assert.equal(missing.status, 404)
    assert.equal((await s.api('DELETE', `/v1/datasets/${datasetId}/items/${second}`, appA.key)).status, 204)
    assert.equal((await s.api('GET', `/v1/datasets/${datasetId}/items/${second}`, appA.key)).status, 404)
    assert.equal((await s.api('GET', `/v1/datasets/${datasetId}`, appA.key)).body.row_count, 4)
  })
})

describe('feedback categories', () => {
  test("a dataset's categories are set at creation, changed by PATCH, and bound its rows' feedback_category", async () => {
    const created = await createDataset(appA.key, {
      name: 'categorized',
      kind: 'eval',
      feedback_categories: ['hallucination', 'tone'],
    })
    assert.deepEqual(created.feedback_categories, ['hallucination', 'tone'])
    const datasetId = created.id
    const added = await fromSpans(datasetId, appA.key, await chatSpans(appA.id, 1, 'cat'))
    assert.equal(added.status, 200, JSON.stringify(added.body))
    const item = `/v1/datasets/${datasetId}/items/${added.body.data.items[0].item_id}`

    const refused = await s.api('PATCH', item, appA.key, { feedback_category: 'refusal' })
    assert.equal(refused.status, 400, JSON.stringify(refused.body))
    assert.equal(refused.body.error.code, 'invalid_argument')
    assert.match(refused.body.error.message, /hallucination, tone/)
    assert.deepEqual(refused.body.error.details.allowed, ['hallucination', 'tone'])
    const inside = await s.api('PATCH', item, appA.key, { feedback_category: 'tone' })
    assert.equal(inside.status, 200, JSON.stringify(inside.body))
    assert.equal(inside.body.feedback_category, 'tone')

    // One list for every reviewer: the PATCH changes what the next item PATCH accepts.
    const changed = await s.api('PATCH', `/v1/datasets/${datasetId}`, appA.key, {
      feedback_categories: ['refusal'],
    })
    assert.equal(changed.status, 200, JSON.stringify(changed.body))
    assert.deepEqual(changed.body.feedback_categories, ['refusal'])
    assert.deepEqual((await s.api('GET', `/v1/datasets/${datasetId}`, appA.key)).body.feedback_categories, [
      'refusal',
    ])
    assert.equal((await s.api('PATCH', item, appA.key, { feedback_category: 'refusal' })).status, 200)
    assert.equal((await s.api('PATCH', item, appA.key, { feedback_category: 'tone' })).status, 400)
    assert.equal((await s.api('PATCH', item, appA.key, { feedback_category: null })).status, 200)

    // An empty list: any category, as for a dataset created without one.
    await s.api('PATCH', `/v1/datasets/${datasetId}`, appA.key, { feedback_categories: [] })
    assert.equal((await s.api('PATCH', item, appA.key, { feedback_category: 'anything' })).status, 200)
    const plain = await createDataset(appA.key, { name: 'uncategorized', kind: 'eval' })
    assert.deepEqual(plain.feedback_categories, [])

    for (const bad of [['a', 'a'], [''], ['x'.repeat(201)], Array.from({ length: 21 }, (_, i) => `c${i}`)]) {
      const response = await s.api('PATCH', `/v1/datasets/${datasetId}`, appA.key, {
        feedback_categories: bad,
      })
      assert.equal(response.status, 400, JSON.stringify(bad))
    }
    assert.equal((await s.api('PATCH', `/v1/datasets/${datasetId}`, appA.key, { name: 'x' })).status, 400)
    assert.equal(
      (await s.api('PATCH', `/v1/datasets/${datasetId}`, appB.key, { feedback_categories: ['x'] })).status,
      404,
    )
  })
})

function randomUuid(): string {
  return crypto.randomUUID()
}

describe('versions', () => {
  test('publishing freezes the draft; the next add seeds a new draft from it', async () => {
    const dataset = await createDataset(appA.key, { name: 'versions', kind: 'eval' })
    const base = `/v1/datasets/${dataset.id}`
    assert.equal((await s.api('POST', `${base}/publish`, appA.key)).status, 409) // empty draft
    await fromSpans(dataset.id, appA.key, await chatSpans(appA.id, 2))
    const published = await s.api('POST', `${base}/publish`, appA.key)
    assert.equal(published.status, 200)
    assert.deepEqual(
      published.body.versions.map((v: { number: number; status: string; row_count: number }) => [
        v.number,
        v.status,
        v.row_count,
      ]),
      [[1, 'published', 2]],
    )
    assert.match(published.body.versions[0].published_at, /Z$/)
    assert.equal((await s.api('POST', `${base}/publish`, appA.key)).status, 409) // no draft
    // The review queue reads the latest published version when there is no draft.
    assert.equal((await s.api('GET', `${base}/items`, appA.key)).body.items.length, 2)

    await fromSpans(dataset.id, appA.key, await chatSpans(appA.id, 1))
    const after = await s.api('GET', base, appA.key)
    assert.deepEqual(
      after.body.versions.map((v: { number: number; status: string; row_count: number }) => [
        v.number,
        v.status,
        v.row_count,
      ]),
      [
        [1, 'published', 2],
        [2, 'draft', 3],
      ],
    )
    assert.equal(after.body.row_count, 3)
    assert.equal((await s.api('GET', `${base}/items?version=1`, appA.key)).body.items.length, 2)
    assert.equal((await s.api('GET', `${base}/items?version=9`, appA.key)).status, 404)
    // A PATCH lands in the draft; the published version stays as it was.
    const [row] = (await s.api('GET', `${base}/items?version=1`, appA.key)).body.items
    await s.api('PATCH', `${base}/items/${row.item_id}`, appA.key, { annotation_status: 'filled' })
    const v1 = await s.api('GET', `${base}/items?version=1&annotation_status=filled`, appA.key)
    assert.equal(v1.body.items.length, 0)
    const v2 = await s.api('GET', `${base}/items?version=2&annotation_status=filled`, appA.key)
    assert.equal(v2.body.items.length, 1)
  })
})

describe('export', () => {
  let evalId: string
  let trainingId: string

  before(async () => {
    evalId = (await createDataset(appA.key, { name: 'export eval', kind: 'eval' })).id
    trainingId = (await createDataset(appA.key, { name: 'export train', kind: 'training' })).id
    const spans = await chatSpans(appA.id, 3, 'export')
    await fromSpans(evalId, appA.key, spans)
    await fromSpans(trainingId, appA.key, await chatSpans(appA.id, 2, 'train'))
  })

  async function download(path: string, key = appA.key): Promise<Response> {
    return fetch(`${s.apiUrl}${path}`, { headers: { authorization: `Bearer ${key}` } })
  }

  test('JSONL has one item a line with nested buckets', async () => {
    const response = await download(`/v1/datasets/${evalId}/export?format=jsonl`)
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), 'application/x-ndjson')
    assert.match(
      response.headers.get('content-disposition') ?? '',
      /attachment; filename="dataset-.*-v1\.jsonl"/,
    )
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.equal(lines.length, 3)
    assert.match(lines[0].inputs.question, /^export \d\?$/)
    assert.equal(lines[0].annotation_status, 'empty')
    assert.equal(lines[0].annotation, null)
    assert.equal(lines[0].source.application_id, appA.id)
  })

  test('CSV has a header and a line per row; Parquet is a Parquet file', async () => {
    const csv = await download(`/v1/datasets/${evalId}/export?format=csv`)
    assert.equal(csv.status, 200)
    const text = await csv.text()
    assert.match(text.split('\n')[0]!, /^"item_id","inputs","expected_outputs"/)
    assert.equal(text.trim().split('\n').length, 4)
    const parquet = await download(`/v1/datasets/${evalId}/export?format=parquet&version=1`)
    assert.equal(parquet.status, 200)
    const bytes = Buffer.from(await parquet.arrayBuffer())
    assert.equal(bytes.subarray(0, 4).toString(), 'PAR1')
    assert.equal(bytes.subarray(-4).toString(), 'PAR1')
  })

  test('chat fine-tuning JSONL is for training datasets', async () => {
    const response = await download(`/v1/datasets/${trainingId}/export?format=chat-jsonl`)
    assert.equal(response.status, 200)
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.equal(lines.length, 2)
    assert.deepEqual(
      lines[0].messages.map((m: { role: string }) => m.role),
      ['user', 'assistant'],
    )
    assert.match(lines[0].messages[1].content, /^answer \d$/)
    assert.equal(response.headers.get('x-spansift-exported-rows'), '2')
    assert.equal(response.headers.get('x-spansift-unconvertible-rows'), '0')
    assert.equal((await download(`/v1/datasets/${evalId}/export?format=chat-jsonl`)).status, 400)
    assert.equal((await download(`/v1/datasets/${evalId}/export?format=xml`)).status, 400)
    assert.equal((await download(`/v1/datasets/${evalId}/export?format=jsonl&version=7`)).status, 404)
  })

  test('chat-jsonl names the rows it cannot convert; --strict and an empty result are errors', async () => {
    const mixed = (await createDataset(appA.key, { name: 'mixed train', kind: 'training' })).id
    const [good] = await chatSpans(appA.id, 1, 'good')
    const noAnswer = recentSpan({
      applicationId: appA.id,
      traceId: randomHex(16),
      spanId: randomHex(8),
      attributes: { 'gen_ai.request.user_message': 'unanswered?' },
    })
    await insert([noAnswer])
    await fromSpans(mixed, appA.key, [good!, noAnswer])
    const lenient = await download(`/v1/datasets/${mixed}/export?format=chat-jsonl`)
    assert.equal(lenient.status, 200)
    assert.equal((await lenient.text()).trim().split('\n').length, 1)
    assert.equal(lenient.headers.get('x-spansift-unconvertible-rows'), '1')
    const strict = await download(`/v1/datasets/${mixed}/export?format=chat-jsonl&strict=true`)
    assert.equal(strict.status, 422)
    const refusal = (await strict.json()) as { error: { code: string; message: string } }
    assert.equal(refusal.error.code, 'unconvertible_rows')
    assert.match(refusal.error.message, /1 of 2 rows do not convert to chat examples: .*no assistant answer/)

    const empty = (await createDataset(appA.key, { name: 'empty train', kind: 'training' })).id
    await fromSpans(empty, appA.key, [noAnswer])
    const none = await download(`/v1/datasets/${empty}/export?format=chat-jsonl`)
    assert.equal(none.status, 422)
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'export_empty')
  })
})

describe('add-trace', () => {
  /** A workflow root with a retrieval child and a chat child (which has a child of its own). */
  async function trace(applicationId: string) {
    const traceId = randomHex(16)
    const start = BigInt(Date.now() - 600_000) * 1_000_000n
    const [root, retrieve, chat, tool] = [randomHex(8), randomHex(8), randomHex(8), randomHex(8)]
    await insert([
      recentSpan({ applicationId, traceId, spanId: root, name: 'workflow', startTimeUnixNano: start }),
      recentSpan({
        applicationId,
        traceId,
        spanId: retrieve,
        parentSpanId: root,
        name: 'retrieve',
        startTimeUnixNano: start + 1000n,
        attributes: { 'output.value': 'doc: orders ship in 2 days' },
      }),
      recentSpan({
        applicationId,
        traceId,
        spanId: chat,
        parentSpanId: root,
        name: 'chat',
        startTimeUnixNano: start + 2000n,
        attributes: { 'gen_ai.prompt': 'when does it ship?', 'gen_ai.completion': 'in 2 days' },
      }),
      recentSpan({
        applicationId,
        traceId,
        spanId: tool,
        parentSpanId: chat,
        name: 'tool',
        startTimeUnixNano: start + 3000n,
      }),
    ])
    return { traceId, root, chat }
  }
  const addTrace = (key: string, body: unknown) =>
    s.api('POST', '/api/public/v2/dataset-versions/add-trace', key, body)

  test('trace mode anchors on the root; span mode makes the direct children columns', async () => {
    const dataset = await createDataset(appA.key, { name: 'traces', kind: 'eval' })
    const t = await trace(appA.id)
    const traceMode = await addTrace(appA.key, { dataset_group_id: dataset.group_id, trace_id: t.traceId })
    assert.equal(traceMode.status, 200, JSON.stringify(traceMode.body))
    assert.equal(traceMode.body.success, true)
    assert.equal(traceMode.body.mode, 'trace')
    assert.equal(traceMode.body.draft_dataset_id, dataset.versions[0].id)
    const after = await s.api('GET', `/v1/datasets/${dataset.id}/items`, appA.key)
    assert.equal(after.body.items.length, 1)
    assert.deepEqual(traceMode.body.warnings, [])
    assert.deepEqual(after.body.items[0].inputs, {
      input: [{ role: 'user', parts: [{ type: 'text', content: 'when does it ship?' }] }],
    })
    assert.deepEqual(after.body.items[0].expected_outputs, {
      output: [{ role: 'assistant', parts: [{ type: 'text', content: 'in 2 days' }] }],
    })
    assert.equal(after.body.items[0].source.span_id, t.root)
    assert.equal(after.body.items[0].source.kind, 'add_trace')

    const spanDataset = await createDataset(appA.key, { name: 'span rows', kind: 'eval' })
    const spanMode = await addTrace(appA.key, {
      dataset_group_id: spanDataset.group_id,
      trace_id: t.traceId,
      span_id: t.root,
    })
    assert.equal(spanMode.status, 200, JSON.stringify(spanMode.body))
    assert.equal(spanMode.body.mode, 'span')
    assert.deepEqual(spanMode.body.warnings, [
      'the span holds no input messages',
      'the span holds no output messages',
    ])
    const rows = await s.api('GET', `/v1/datasets/${spanDataset.id}/items`, appA.key)
    assert.deepEqual(rows.body.items[0].inputs, { retrieve: 'doc: orders ship in 2 days', chat: 'in 2 days' })
    const columns = (await s.api('GET', `/v1/datasets/${spanDataset.id}`, appA.key)).body.columns
    assert.deepEqual(columns, [
      { name: 'retrieve', bucket: 'inputs' },
      { name: 'chat', bucket: 'inputs' },
    ])
  })

  test('after publish, add-trace creates a new draft seeded from the published version', async () => {
    const dataset = await createDataset(appA.key, { name: 'drafts', kind: 'eval' })
    await addTrace(appA.key, { dataset_group_id: dataset.group_id, trace_id: (await trace(appA.id)).traceId })
    await s.api('POST', `/v1/datasets/${dataset.id}/publish`, appA.key)
    const again = await addTrace(appA.key, {
      dataset_group_id: dataset.group_id,
      trace_id: (await trace(appA.id)).traceId,
    })
    assert.equal(again.status, 200)
    const versions = (await s.api('GET', `/v1/datasets/${dataset.id}`, appA.key)).body.versions
    assert.equal(versions.length, 2)
    assert.equal(again.body.draft_dataset_id, versions[1].id)
    assert.notEqual(versions[1].id, versions[0].id)
    assert.equal(versions[1].row_count, 2)
    assert.equal(versions[1].status, 'draft')
    // Re-adding a trace already there still answers a draft (created, seeded, unchanged).
    await s.api('POST', `/v1/datasets/${dataset.id}/publish`, appA.key)
    const known = (await s.api('GET', `/v1/datasets/${dataset.id}/items`, appA.key)).body.items[0].source
      .trace_id
    const readd = await addTrace(appA.key, { dataset_group_id: dataset.group_id, trace_id: known })
    assert.equal(readd.status, 200)
    const third = (await s.api('GET', `/v1/datasets/${dataset.id}`, appA.key)).body.versions[2]
    assert.deepEqual([third.id, third.status, third.row_count], [readd.body.draft_dataset_id, 'draft', 2])
  })

  test('refusals: unknown group, unknown trace or span, bad ids, other application', async () => {
    const dataset = await createDataset(appA.key, { name: 'refusals', kind: 'eval' })
    const t = await trace(appA.id)
    const cases: Array<[unknown, number]> = [
      [{ dataset_group_id: 0, trace_id: t.traceId }, 400],
      [{ dataset_group_id: dataset.group_id }, 400],
      [{ dataset_group_id: dataset.group_id, trace_id: 'xyz' }, 400],
      [{ dataset_group_id: dataset.group_id, trace_id: t.traceId, span_id: 'xyz' }, 400],
      [{ dataset_group_id: 987654321, trace_id: t.traceId }, 404],
      [{ dataset_group_id: dataset.group_id, trace_id: randomHex(16) }, 404],
      [{ dataset_group_id: dataset.group_id, trace_id: t.traceId, span_id: randomHex(8) }, 404],
    ]
    for (const [body, status] of cases) {
      const response = await addTrace(appA.key, body)
      assert.equal(response.status, status, JSON.stringify([body, response.body]))
    }
    // A trace of application B is not found from A's dataset.
    const other = await trace(appB.id)
    assert.equal(
      (await addTrace(appA.key, { dataset_group_id: dataset.group_id, trace_id: other.traceId })).status,
      404,
    )
    // The X-API-KEY header works as the hosted product's clients send it.
    const viaHeader = await fetch(`${s.apiUrl}/api/public/v2/dataset-versions/add-trace`, {
      method: 'POST',
      headers: { 'x-api-key': appA.key, 'content-type': 'application/json' },
      body: JSON.stringify({ dataset_group_id: dataset.group_id, trace_id: t.traceId }),
    })
    assert.equal(viaHeader.status, 200)
  })
})

test('/openapi.json documents the dataset routes from the zod schemas', async () => {
  const response = await fetch(`${s.apiUrl}/openapi.json`)
  assert.equal(response.status, 200)
  const document = (await response.json()) as {
    openapi: string
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: any }> } }>>
  }
  assert.equal(document.openapi, '3.1.0')
  for (const path of [
    '/v1/applications',
    '/v1/applications/{application}',
    '/v1/datasets',
    '/v1/datasets/{id}',
    '/v1/datasets/{id}/items',
    '/v1/datasets/{id}/items/{item_id}',
    '/v1/datasets/{id}/export',
    '/v1/datasets/{id}/publish',
    '/v3/evals/datasets/{dataset_id}/items/from-spans',
    '/api/public/v2/dataset-versions/add-trace',
  ]) {
    assert.ok(document.paths[path], path)
  }
  const fromSpans =
    document.paths['/v3/evals/datasets/{dataset_id}/items/from-spans']!.post!.requestBody!.content[
      'application/json'
    ]!.schema
  assert.deepEqual([...fromSpans.required].sort(), [
    'application_id',
    'end_time',
    'mapping',
    'spans',
    'start_time',
  ])
  assert.equal(fromSpans.properties.spans.maxItems, 200)
  assert.equal(fromSpans.properties.spans.minItems, 1)
})
