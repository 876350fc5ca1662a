import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { candidateFromSpan } from '@spansift/core/datasets/append-candidate'
import { applyMapping } from '@spansift/core/datasets/mapping'
import { SpansiftError } from '@spansift/core/error-codes'
import type { Span } from '@spansift/core/span-model'
import { type RunningSpansift, randomHex, recentSpan, startSpansift } from './test-harness.ts'

// Caps hold exactly while many appenders race: API requests and direct dataset-writer
// calls (what the rule workers will do) at the same moment. The caps are injected small
// (eval 25, training 40) so the race is quick; the default numbers have their own unit test.
const CAPS = { eval: 25, training: 40 }
let s: RunningSpansift
let app: { id: string; key: string }

before(async () => {
  s = await startSpansift({}, { datasetCaps: CAPS })
  app = await s.createApplication('racer')
})
after(async () => {
  await s.stop()
})

const mapping = { inputs: { question: 'q' } }

async function spans(n: number): Promise<Span[]> {
  const list = Array.from({ length: n }, (_, i) =>
    recentSpan({
      applicationId: app.id,
      traceId: randomHex(16),
      spanId: randomHex(8),
      attributes: { q: `q${i}` },
    }),
  )
  await s.spansift.storage().spans.insert(list)
  return list
}

function apiAppend(datasetId: string, batch: Span[]) {
  return s.api('POST', `/v3/evals/datasets/${datasetId}/items/from-spans`, app.key, {
    application_id: app.id,
    start_time: new Date(Date.now() - 86_400_000).toISOString(),
    end_time: new Date(Date.now() + 3_600_000).toISOString(),
    spans: batch.map((sp) => ({ trace_id: sp.traceId, span_id: sp.spanId })),
    mapping,
  })
}

test('many appenders racing past the eval cap leave exactly the cap', async () => {
  const { body: dataset } = await s.api('POST', '/v1/datasets', app.key, { name: 'race', kind: 'eval' })
  const all = await spans(50)
  const writer = s.spansift.datasetWriter()
  // 30 API requests and 20 direct writer calls, one new span each, all at once.
  const viaApi = all.slice(0, 30).map(async (sp) => {
    const response = await apiAppend(dataset.id, [sp])
    if (response.status === 200) return 'added'
    assert.equal(response.status, 409, JSON.stringify(response.body))
    assert.equal(response.body.error.code, 'dataset_cap_reached')
    assert.match(response.body.error.message, /cap of 25 rows was hit/)
    return 'refused'
  })
  const direct = all.slice(30).map(async (sp) => {
    try {
      await writer.append(dataset.id, [
        candidateFromSpan(sp, applyMapping(sp, mapping), { kind: 'rule', ruleId: 'r1' }),
      ])
      return 'added'
    } catch (error) {
      assert.ok(error instanceof SpansiftError && error.code === 'dataset_cap_reached', String(error))
      return 'refused'
    }
  })
  const outcomes = await Promise.all([...viaApi, ...direct])
  assert.equal(outcomes.filter((o) => o === 'added').length, 25)
  assert.equal(outcomes.filter((o) => o === 'refused').length, 25)
  const after = await s.api('GET', `/v1/datasets/${dataset.id}`, app.key)
  assert.equal(after.body.row_count, 25)
  // Re-appending a row already there is not an addition, so it passes at the cap.
  const page = await s.api('GET', `/v1/datasets/${dataset.id}/items?limit=1`, app.key)
  const existing = all.find((sp) => sp.spanId === page.body.items[0].source.span_id)!
  assert.equal((await apiAppend(dataset.id, [existing])).status, 200)
  assert.equal((await s.api('GET', `/v1/datasets/${dataset.id}`, app.key)).body.row_count, 25)
})

test('a multi-span append that would cross the cap is refused whole', async () => {
  const { body: dataset } = await s.api('POST', '/v1/datasets', app.key, {
    name: 'batches',
    kind: 'training',
  })
  const all = await spans(60)
  // Six requests of ten: four fit the training cap of 40, two are refused whole.
  const responses = await Promise.all(
    [0, 1, 2, 3, 4, 5].map((i) => apiAppend(dataset.id, all.slice(i * 10, i * 10 + 10))),
  )
  assert.deepEqual(responses.map((r) => r.status).sort(), [200, 200, 200, 200, 409, 409])
  assert.equal((await s.api('GET', `/v1/datasets/${dataset.id}`, app.key)).body.row_count, 40)
})

test('streaming appends (upToCap) fill a dataset exactly to its cap and count the rest', async () => {
  const { body: dataset } = await s.api('POST', '/v1/datasets', app.key, { name: 'stream', kind: 'eval' })
  const all = await spans(40)
  const writer = s.spansift.datasetWriter()
  const candidates = all.map((sp) =>
    candidateFromSpan(sp, applyMapping(sp, mapping), { kind: 'rule', ruleId: 'r' }),
  )
  // Four racing batches of ten against a cap of 25.
  const results = await Promise.all(
    [0, 1, 2, 3].map((i) =>
      writer.append(dataset.id, candidates.slice(i * 10, i * 10 + 10), { upToCap: true }),
    ),
  )
  const added = results.reduce((n, r) => n + r.items.filter((item) => item.added).length, 0)
  const dropped = results.reduce((n, r) => n + r.droppedForCap, 0)
  assert.equal(added, 25)
  assert.equal(dropped, 15)
  assert.equal((await s.api('GET', `/v1/datasets/${dataset.id}`, app.key)).body.row_count, 25)
  // At the cap, re-appending rows already there is still no drop.
  const again = await writer.append(dataset.id, candidates, { upToCap: true })
  assert.equal(again.items.filter((item) => item.added).length, 0)
  assert.equal(again.droppedForCap, 15)
})
