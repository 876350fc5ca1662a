import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createReviewQueue } from '@spansift/application/review-queue'
import { ADMIN_KEY, type RunningSpansift, randomHex, recentSpan, startSpansift } from './test-harness.ts'

// The API routes the review workbench adds: span search, promotion of a search through the
// backfill engine, and the review queue's claims (real server, embedded ClickHouse).
let s: RunningSpansift
let app: { id: string; key: string }
let other: { id: string; key: string }
const range = () => ({
  start_time: new Date(Date.now() - 3 * 3_600_000).toISOString(),
  end_time: new Date(Date.now() + 60_000).toISOString(),
})

before(async () => {
  s = await startSpansift()
  app = await s.createApplication('support-bot')
  other = await s.createApplication('other-bot')
  const spans = []
  for (let i = 0; i < 5; i++) {
    const span = recentSpan({
      applicationId: app.id,
      traceId: randomHex(16),
      spanId: randomHex(8),
      attributes: { 'gen_ai.request.model': i < 3 ? 'gpt-4o' : 'claude', 'gen_ai.prompt': `question ${i}` },
    })
    // Distinct start times, one second apart, so the order is known.
    span.startTimeUnixNano += BigInt(i) * 1_000_000_000n
    spans.push(span)
  }
  spans.push(
    recentSpan({
      applicationId: other.id,
      traceId: randomHex(16),
      spanId: randomHex(8),
      attributes: { 'gen_ai.request.model': 'gpt-4o' },
    }),
  )
  await s.spansift.storage().spans.insert(spans)
})

after(() => s?.stop())

const search = (body: Record<string, unknown>, key = app.key) =>
  s.api('POST', '/v1/spans/search', key, { ...range(), ...body })

test('search: a rule-language predicate, scoped to the key’s application, newest first, a page at a time', async () => {
  const all = await search({ predicate: { field: 'model', equals: 'gpt-4o' } })
  assert.equal(all.status, 200)
  assert.deepEqual(
    all.body.spans.map((x: { attributes: Record<string, string> }) => x.attributes['gen_ai.prompt']),
    ['question 2', 'question 1', 'question 0'],
  )
  const seen: string[] = []
  let cursor: string | undefined
  for (let page = 0; page < 5; page++) {
    const answer = await search({
      predicate: { field: 'model', equals: 'gpt-4o' },
      limit: 1,
      ...(cursor ? { cursor } : {}),
    })
    assert.equal(answer.status, 200)
    seen.push(...answer.body.spans.map((x: { span_id: string }) => x.span_id))
    cursor = answer.body.next_cursor ?? undefined
    if (!cursor) break
  }
  assert.deepEqual(
    seen,
    all.body.spans.map((x: { span_id: string }) => x.span_id),
  )
  const oldest = await search({
    predicate: { field: 'model', equals: 'claude' },
    order: 'asc',
    mapping: { inputs: { q: 'input_text' } },
  })
  assert.deepEqual(
    oldest.body.rows.map((r: { inputs: { q: string } }) => r.inputs.q),
    ['question 3', 'question 4'],
  )
  const theirs = await search({ predicate: { field: 'model', equals: 'gpt-4o' } }, other.key)
  assert.equal(theirs.body.spans.length, 1)
  assert.equal(theirs.body.spans[0].application_id, other.id)
})

test('search: refusals in words — a bad predicate, an unbounded range, another application, the admin without one', async () => {
  const typo = await search({ predicate: { field: 'model', equal: 'gpt-4o' } })
  assert.equal(typo.status, 400)
  assert.match(typo.body.error.message, /^predicate: unknown key "equal" \(did you mean "equals"\?\)/)
  const typed = await search({ predicate: { field: 'span.duration_ms', contains: 'x' } })
  assert.equal(typed.status, 400)
  assert.match(typed.body.error.message, /^predicate/)
  const long = await s.api('POST', '/v1/spans/search', app.key, {
    start_time: '2026-01-01T00:00:00Z',
    end_time: '2026-12-01T00:00:00Z',
  })
  assert.equal(long.status, 400)
  assert.equal(long.body.error.code, 'range_not_bounded')
  assert.equal((await search({ application_id: other.id })).status, 403)
  assert.equal((await search({}, ADMIN_KEY)).status, 400)
  assert.equal((await search({ application_id: app.id }, ADMIN_KEY)).body.spans.length, 5)
  assert.equal((await search({ cursor: 'nope' })).status, 400)
})

async function datasetWithRows(name: string, predicate?: Record<string, unknown>): Promise<string> {
  const created = await s.api('POST', '/v1/datasets', app.key, { name, kind: 'eval' })
  assert.equal(created.status, 201)
  const started = await s.api('POST', `/v1/datasets/${created.body.id}/items/from-search`, app.key, {
    ...range(),
    predicate,
    mapping: { inputs: { input: 'input_text' }, metadata: { model: 'model' } },
  })
  assert.equal(started.status, 202)
  let job = started.body
  for (let i = 0; i < 200 && job.state === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 50))
    job = (await s.api('GET', `/v1/rules/backfills/${job.backfill_id}`, app.key)).body
  }
  assert.equal(job.state, 'done', JSON.stringify(job))
  assert.equal((await s.api('GET', `/v1/rules/backfills/${job.backfill_id}`, other.key)).status, 404)
  return created.body.id
}

test('from-search: every span the search matches goes into the dataset through the backfill engine', async () => {
  const id = await datasetWithRows('all gpt-4o', { field: 'model', equals: 'gpt-4o' })
  const items = await s.api('GET', `/v1/datasets/${id}/items`, app.key)
  assert.deepEqual(items.body.items.map((i: { inputs: { input: string } }) => i.inputs.input).sort(), [
    'question 0',
    'question 1',
    'question 2',
  ])
})

test('claims: reviewers get different rows, a release frees a row, the queue counts what is left', async () => {
  const id = await datasetWithRows('claims', { field: 'model', equals: 'gpt-4o' })
  const claim = (reviewer: string, body: Record<string, unknown> = {}) =>
    s.api('POST', `/v1/datasets/${id}/queue/claim`, app.key, { reviewer, ...body })
  const answers = await Promise.all(['a', 'b', 'c', 'd'].map((r) => claim(r)))
  const held = answers.map((a) => a.body.item?.item_id).filter(Boolean)
  assert.equal(held.length, 3, 'three rows, three reviewers served, the fourth gets none')
  assert.equal(new Set(held).size, 3)
  const none = answers.find((a) => a.body.item === null)!
  assert.deepEqual([none.body.remaining, none.body.claimed_by_others], [3, 3])
  // The same reviewer asking again keeps its row rather than taking another.
  const holder = ['a', 'b', 'c', 'd'].find((_, i) => answers[i]!.body.item !== null)!
  const a = answers.find((x) => x.body.item !== null)!.body
  const again = (await claim(holder)).body
  assert.equal(again.item.item_id, a.item.item_id)
  assert.equal((await claim('e', { item_id: a.item.item_id })).status, 409)
  // The new claim superseded the first; releasing it frees the row.
  const released = await s.api('DELETE', `/v1/datasets/${id}/queue/claims/${again.claim.claim_id}`, app.key)
  assert.equal(released.status, 204)
  const e = await claim('e')
  assert.equal(e.body.item.item_id, a.item.item_id)
  assert.equal(
    (await s.api('POST', `/v1/datasets/${id}/queue/claim`, other.key, { reviewer: 'x' })).status,
    404,
  )
})

test('claims: a lease expires and the row goes to the next reviewer', async () => {
  const id = await datasetWithRows('expiry', { field: 'model', equals: 'claude' })
  const claim = (reviewer: string) =>
    s.api('POST', `/v1/datasets/${id}/queue/claim`, app.key, { reviewer, lease_seconds: 10 })
  const first = (await claim('a')).body.item.item_id
  const second = (await claim('b')).body.item.item_id
  assert.notEqual(first, second)
  assert.equal((await claim('c')).body.item, null)
  // Poll (bounded) until a's 10 s lease has run out.
  const deadline = Date.now() + 30_000
  let taken: string | undefined
  while (Date.now() < deadline && !taken) {
    await new Promise((r) => setTimeout(r, 500))
    taken = (await claim('c')).body.item?.item_id
  }
  assert.ok(taken === first || taken === second, 'an expired claim frees its row')
})

test('claims from two processes racing (two queues, two mutexes, one ClickHouse) never share a row', async () => {
  const id = await datasetWithRows('race')
  const version = (await s.api('GET', `/v1/datasets/${id}`, app.key)).body.versions[0].id
  const repository = s.spansift.storage().reviewClaims
  const processes = [createReviewQueue({ repository }), createReviewQueue({ repository })]
  for (let round = 0; round < 3; round++) {
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        processes[i % 2]!.claim({
          datasetId: id,
          versionId: version,
          reviewer: `r${round}-${i}`,
          leaseMs: 60_000,
        }),
      ),
    )
    const held = claims.map((c) => c.claim?.itemId).filter((x): x is string => x !== undefined)
    assert.equal(new Set(held).size, held.length, `round ${round}: a row went to two reviewers`)
    assert.equal(held.length, 5, `round ${round}: every one of the 5 rows is handed out`)
    await Promise.all(claims.map((c) => (c.claim ? processes[0]!.release(id, c.claim.claimId) : undefined)))
  }
})

test('the web app is served at / without shadowing the API; /openapi.json documents the new routes', async () => {
  const page = await fetch(`${s.apiUrl}/`)
  assert.equal(page.status, 200)
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
  const html = await page.text()
  const script = /src="(\/ui\/main\.js)"/.exec(html)?.[1]
  assert.ok(script, 'the page loads its script from this server, not a CDN')
  assert.doesNotMatch(html, /https?:\/\//)
  const js = await fetch(`${s.apiUrl}${script}`)
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/)
  assert.doesNotMatch(
    await js.text(),
    /https?:\/\/(?!www\.w3\.org)[a-z]/i,
    'the bundle fetches nothing from the network',
  )
  const unknown = await s.api('GET', '/v1/nothing-here', app.key)
  assert.equal(unknown.status, 404)
  assert.equal(unknown.body.error.code, 'not_found')
  const document = (await (await fetch(`${s.apiUrl}/openapi.json`)).json()) as {
    paths: Record<string, unknown>
  }
  for (const path of [
    '/v1/spans/search',
    '/v1/datasets/{id}/items/from-search',
    '/v1/datasets/{id}/queue/claim',
    '/v1/datasets/{id}/queue/claims/{claim_id}',
    '/v1/principal',
  ]) {
    assert.ok(document.paths[path], `${path} is documented`)
  }
})
