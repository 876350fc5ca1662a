import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Storage } from '@spansift/clickhouse/storage'
import { tableNames } from '@spansift/clickhouse/tables'
import { isSampled } from '@spansift/core/rules/sampling'
import {
  type DistributedStack,
  showEventLogOnFailure,
  startDistributedStack,
} from './test-distributed-stack.ts'
import { uncommittedMessages } from './test-kafka-lag.ts'
import { otlpJsonExport, randomHexId } from './test-otlp.ts'

// The multi-worker proof: a receiver + API, two span writers and three rule workers as
// separate processes in their consumer groups, one real Kafka broker, one ClickHouse
// (the embedded engine behind the HTTP interface). Under a bounded load one rule worker
// is killed (SIGKILL) and restarted. Afterwards: every acknowledged span is stored once,
// the eval dataset's cap holds exactly although three workers matched for it, and the
// sampled rule appended exactly the traces its deterministic sampling picks, once each.

const ADMIN_KEY = 'scale-out-admin-key-0123456789'
const EVAL_CAP = 10_000
const CAPPED_SPANS = 10_600 // more matches than the eval cap
const SAMPLED_SPANS = 2_000
const SAMPLE_RATE = 0.5
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let stack: DistributedStack
let rulesDir: string
let storage: Storage
let api: string
let appKey: string
let otlpUrl: string

async function call(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const parsed = await response.json()
  if (response.status >= 300)
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(parsed)}`)
  return parsed
}

before(async () => {
  rulesDir = mkdtempSync(join(tmpdir(), 'spansift-scale-rules-'))
  stack = await startDistributedStack({ adminKey: ADMIN_KEY, env: { SPANSIFT_RULES_DIR: rulesDir } })
  ;({ storage, otlpUrl, apiUrl: api } = stack)
  // Every insert stays a row of its own, so the checks below count stored copies.
  const { spans, datasetItems } = tableNames(storage.runner.database)
  for (const table of [spans, datasetItems])
    await storage.runner.command('test', `SYSTEM STOP MERGES ${table}`)
})

showEventLogOnFailure(() => stack)

after(async () => {
  await stack?.stop()
  rmSync(rulesDir, { recursive: true, force: true })
})

/**
 * Rows of a dataset as stored (every version; there is only the draft here), no FINAL and
 * merges stopped, so a row inserted twice counts twice; and its distinct items and spans.
 * The dataset writer inserts only items not yet there, so a redelivered match is one row,
 * except while two members briefly hold one partition (see the bound below).
 */
async function datasetRows(datasetId: string) {
  const { datasetItems } = tableNames(storage.runner.database)
  const [row] = await storage.runner.select<{ rows: string; items: string; spans: string }>(
    'test',
    `SELECT count() AS rows, uniqExact(item_id) AS items, uniqExact(trace_id, span_id) AS spans
     FROM ${datasetItems} WHERE dataset_id = {id:UUID}`,
    { id: datasetId },
  )
  return { rows: Number(row!.rows), items: Number(row!.items), spans: Number(row!.spans) }
}

test('three rule workers and two span writers, one rule worker killed: spans once, caps exact, rows once', async (t) => {
  const app = await call('POST', '/v1/applications', { name: 'scale-out' })
  appKey = (await call('POST', `/v1/applications/${app.id}/keys`)).key
  const capped = await call('POST', '/v1/datasets', { name: 'capped', application_id: app.id, kind: 'eval' })
  const sampled = await call('POST', '/v1/datasets', {
    name: 'sampled',
    application_id: app.id,
    kind: 'training',
  })
  writeFileSync(
    join(rulesDir, 'scale-out.yaml'),
    `rules:
  - id: capped
    description: every case-a span, more than the eval cap
    application: ${app.id}
    dataset: ${capped.id}
    when: { field: span.name, equals: case-a }
    mapping: { inputs: { name: span.name }, metadata: { span: span.id } }
  - id: sampled
    description: half of the case-b traces, deterministically
    application: ${app.id}
    dataset: ${sampled.id}
    when: { field: span.name, equals: case-b }
    sample: ${SAMPLE_RATE}
    mapping: { inputs: { name: span.name }, metadata: { span: span.id } }
`,
  )
  await stack.spawnRole(['span-writer'])
  await stack.spawnRole(['span-writer'])
  const workers = [await stack.spawnRole(['rule-worker']), await stack.spawnRole(['rule-worker'])]
  workers.push(await stack.spawnRole(['rule-worker']))

  // Bounded load: exports of 100 spans, case-a and case-b interleaved, ~12 s in all.
  const acknowledged = new Map<string, { traceId: string; name: string }>()
  const exports: Array<Array<{ traceId: string; spanId: string; name: string }>> = []
  for (let sent = 0; sent < CAPPED_SPANS; sent += 100)
    exports.push(
      Array.from({ length: 100 }, () => ({
        traceId: randomHexId(16),
        spanId: randomHexId(8),
        name: 'case-a',
      })),
    )
  for (let sent = 0; sent < SAMPLED_SPANS; sent += 100)
    exports.push(
      Array.from({ length: 100 }, () => ({
        traceId: randomHexId(16),
        spanId: randomHexId(8),
        name: 'case-b',
      })),
    )
  exports.sort(() => Math.random() - 0.5)
  const answers: Record<string, number> = {}
  const started = Date.now()
  let killedAt = -1
  // No span writer is killed, but a rebalance of their group (a member starved of CPU
  // missing its session) makes a member process its uncommitted batch again: the spans
  // stored twice are bounded by the largest window seen.
  let spanWriterWindow = 0
  const sampleWindow = async () => {
    spanWriterWindow = Math.max(
      spanWriterWindow,
      await uncommittedMessages(stack.broker.brokers, 'spansift.spans', 'spansift-span-writer'),
    )
  }
  for (let i = 0; i < exports.length; i++) {
    if (i % 10 === 0) await sampleWindow()
    if (i === Math.floor(exports.length / 3)) {
      killedAt = i
      await workers[0]!.kill()
    }
    if (i === Math.floor(exports.length / 2)) workers[0] = await stack.spawnRole(['rule-worker'])
    const spans = exports[i]!
    for (let attempt = 0; attempt < 20; attempt++) {
      const response = await fetch(otlpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${appKey}` },
        body: otlpJsonExport(spans, 'scale-out'),
        signal: AbortSignal.timeout(20_000),
      })
      await response.arrayBuffer()
      answers[response.status] = (answers[response.status] ?? 0) + 1
      if (response.status === 200) {
        for (const s of spans) acknowledged.set(s.spanId, s)
        break
      }
      await sleep(500)
    }
    await sleep(50)
  }
  const sendSeconds = (Date.now() - started) / 1000
  assert.equal(acknowledged.size, CAPPED_SPANS + SAMPLED_SPANS, `answers ${JSON.stringify(answers)}`)

  const expectedSampled = [...acknowledged.values()].filter(
    (s) => s.name === 'case-b' && isSampled(s.traceId, SAMPLE_RATE),
  ).length
  // Bounded wait for the pipeline to settle: both datasets at their expected sizes.
  const deadline = Date.now() + 180_000
  let cappedRows = await datasetRows(capped.id)
  let sampledRows = await datasetRows(sampled.id)
  while ((cappedRows.items < EVAL_CAP || sampledRows.items < expectedSampled) && Date.now() < deadline) {
    await sleep(1_000)
    cappedRows = await datasetRows(capped.id)
    sampledRows = await datasetRows(sampled.id)
  }
  // Let late duplicates (redeliveries after the kill) arrive before judging "once".
  await sleep(3_000)
  cappedRows = await datasetRows(capped.id)
  sampledRows = await datasetRows(sampled.id)
  const settleSeconds = (Date.now() - started) / 1000

  const { spans } = tableNames(storage.runner.database)
  // Raw copies (no FINAL, merges stopped): one row per insert of a span.
  const [stored] = await storage.runner.select<{ rows: string; distinct: string; most: string }>(
    'test',
    `SELECT sum(copies) AS rows, count() AS distinct, max(copies) AS most
     FROM (SELECT count() AS copies FROM ${spans} GROUP BY application_id, trace_id, span_id)`,
  )
  t.diagnostic(
    `sent ${acknowledged.size} spans in ${sendSeconds.toFixed(1)} s (killed a worker at export ${killedAt}); settled after ${settleSeconds.toFixed(1)} s; span rows ${JSON.stringify(stored)}, largest span-writer window ${spanWriterWindow}; answers ${JSON.stringify(answers)}; capped ${JSON.stringify(cappedRows)}; sampled ${JSON.stringify(sampledRows)} of expected ${expectedSampled}`,
  )
  assert.equal(Number(stored!.distinct), acknowledged.size, 'every acknowledged span is stored')
  assert.ok(Number(stored!.most) <= 2, `a span is stored ${stored!.most} times`)
  assert.ok(
    Number(stored!.rows) - Number(stored!.distinct) <= spanWriterWindow,
    `${Number(stored!.rows) - Number(stored!.distinct)} spans stored twice, more than the largest redelivery window (${spanWriterWindow})`,
  )
  assert.deepEqual(
    { items: cappedRows.items, spans: cappedRows.spans },
    { items: EVAL_CAP, spans: EVAL_CAP },
    'the eval cap holds exactly',
  )
  assert.deepEqual(
    { items: sampledRows.items, spans: sampledRows.spans },
    { items: expectedSampled, spans: expectedSampled },
    'the sampled rule appended exactly its traces, once each',
  )
  // Raw copies: while the killed worker's and the restarted worker's partitions move, a
  // dataset's appends-partition changes holder; the new holder starts after the old one's
  // step (the consumer loop's handover), and a redelivered match finds its item there, so
  // no row is inserted twice. (Without the handover: 0–284 rows of 10,000 stored twice.)
  for (const [name, rows] of [
    ['capped', cappedRows],
    ['sampled', sampledRows],
  ] as const) {
    assert.equal(
      rows.rows - rows.items,
      0,
      `${rows.rows - rows.items} rows of the ${name} dataset stored twice`,
    )
  }
  const listing = await call('GET', '/v1/rules')
  const byId = new Map(listing.rules.map((r: any) => [r.id, r]))
  assert.equal((byId.get('capped') as any).stored_rows, EVAL_CAP)
  assert.equal((byId.get('sampled') as any).stored_rows, expectedSampled)
})
