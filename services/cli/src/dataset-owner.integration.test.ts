import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { Admin, Consumer } from '@platformatic/kafka'
import { DATASET_APPENDER_GROUP } from '@spansift/bus/kafka-append-queue'
import { ConsumerGroup } from '@spansift/bus/span-bus'
import { Topic } from '@spansift/bus/topics'
import type { Storage } from '@spansift/clickhouse/storage'
import { tableNames } from '@spansift/clickhouse/tables'
import {
  type DistributedStack,
  showEventLogOnFailure,
  startDistributedStack,
} from './test-distributed-stack.ts'
import { freePort, otlpJsonExport, randomHexId } from './test-otlp.ts'

// Every change to a dataset has one owner across processes. Two API processes and two
// rule workers (each also an appender-group member), one real broker, one ClickHouse
// (the embedded engine behind HTTP). Both APIs append (from-spans) past the eval cap
// while a rule appends matches for the same dataset and both APIs publish it again and
// again. Afterwards, from the rows as stored (no FINAL, merges stopped): no version holds more than the cap, nothing
// an API acknowledged is missing, there is one draft and no two versions share a number,
// and every row of a published version is also in the version after it (a row written
// into a version after it was published and copied forward would not be). Then reviewers
// on both APIs annotate rows at once, each change needing a draft: one draft is created.

const ADMIN_KEY = 'dataset-owner-admin-key-0123456789'
const EVAL_CAP = 10_000
const API_SPANS = 10_400 // from-spans refs, 200 per call, 52 calls over the two APIs: alone past the cap
const RULE_SPANS = 2_000 // rule matches racing them: 12,400 offered for 10,000 places
const REFS_PER_CALL = 200
const CALLS_IN_FLIGHT_PER_API = 4
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let stack: DistributedStack
let rulesDir: string
let storage: Storage
let apis: string[]

before(async () => {
  rulesDir = mkdtempSync(join(tmpdir(), 'spansift-owner-rules-'))
  stack = await startDistributedStack({ adminKey: ADMIN_KEY, env: { SPANSIFT_RULES_DIR: rulesDir } })
  storage = stack.storage
  // Every insert stays a row of its own (no merge folds two copies of an item into one),
  // so the per-version checks below count stored copies.
  await storage.runner.command(
    'test',
    `SYSTEM STOP MERGES ${tableNames(storage.runner.database).datasetItems}`,
  )
  const secondApiPort = await freePort()
  await stack.spawnRole(['api'], { SPANSIFT_API_PORT: String(secondApiPort) })
  apis = [stack.apiUrl, `http://127.0.0.1:${secondApiPort}`]
  await stack.spawnRole(['span-writer'])
  await stack.spawnRole(['rule-worker'])
  await stack.spawnRole(['rule-worker'])
  // The datasets' owners are the appender group: both APIs and both rule workers. The race
  // starts once their joins are over, so what it measures is ownership, not start-up.
  await stack.groupSettled(DATASET_APPENDER_GROUP, 4)
})

showEventLogOnFailure(() => stack)

after(async () => {
  await stack?.stop()
  rmSync(rulesDir, { recursive: true, force: true })
})

async function call(api: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  })
  return { status: response.status, body: (await response.json()) as any }
}

async function ok(api: string, method: string, path: string, body?: unknown) {
  const answer = await call(api, method, path, body)
  if (answer.status >= 300)
    throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`)
  return answer.body
}

async function exportSpans(key: string, spans: Array<{ traceId: string; spanId: string; name: string }>) {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(stack.otlpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: otlpJsonExport(spans, 'owner-test'),
      signal: AbortSignal.timeout(30_000),
    })
    await response.arrayBuffer()
    if (response.status === 200) return
    if (attempt >= 20) throw new Error(`export answered ${response.status}`)
    await sleep(250)
  }
}

async function countSql(sql: string, params: Record<string, unknown> = {}): Promise<number> {
  const [row] = await storage.runner.select<{ n: string }>('test', sql, params)
  return Number(row!.n)
}

/** True when `group` has committed up to the end of every partition of `topic`. */
async function caughtUp(group: string, topic: string): Promise<boolean> {
  const probe = new Consumer({
    clientId: 'owner-test-probe',
    groupId: 'owner-test-probe',
    bootstrapBrokers: [stack.broker.brokers],
  })
  const admin = new Admin({ clientId: 'owner-test-probe', bootstrapBrokers: [stack.broker.brokers] })
  try {
    const ends = (await probe.listOffsets({ topics: [topic] })).get(topic) ?? []
    const [committed] = await admin.listConsumerGroupOffsets({ groups: [group] })
    const byPartition = new Map(
      (committed?.topics.find((t) => t.name === topic)?.partitions ?? []).map((p) => [
        p.partitionIndex,
        p.committedOffset,
      ]),
    )
    return ends.every((end, partition) => end === 0n || byPartition.get(partition) === end)
  } finally {
    await probe.close(true)
    await admin.close()
  }
}

test('two APIs and two rule workers racing past a cap while publishing: the cap holds, one draft, no row in a published version', async (t) => {
  const api = apis[0]!
  const testStarted = Date.now()
  const app = await ok(api, 'POST', '/v1/applications', { name: 'owner' })
  const key = (await ok(api, 'POST', `/v1/applications/${app.id}/keys`)).key as string
  const dataset = await ok(api, 'POST', '/v1/datasets', {
    name: 'raced',
    application_id: app.id,
    kind: 'eval',
  })
  const mapping = { inputs: { name: 'span.name' }, metadata: { span: 'span.id' } }
  writeFileSync(
    join(rulesDir, 'owner.yaml'),
    `rules:
  - id: raced
    description: every rule-span span, racing the API appends
    application: ${app.id}
    dataset: ${dataset.id}
    when: { field: span.name, equals: rule-span }
    mapping: { inputs: { name: span.name }, metadata: { span: span.id } }
`,
  )
  const started = Date.now()
  const created = (started - testStarted) / 1000

  // The spans the APIs will append, stored first (from-spans reads them from ClickHouse).
  const apiSpans = Array.from({ length: API_SPANS }, () => ({
    traceId: randomHexId(16),
    spanId: randomHexId(8),
    name: 'api-span',
  }))
  for (let i = 0; i < apiSpans.length; i += 1_000) await exportSpans(key, apiSpans.slice(i, i + 1_000))
  const { spans: spansTable, datasetItems, datasetVersions } = tableNames(storage.runner.database)
  for (const deadline = Date.now() + 60_000; ; await sleep(250)) {
    const stored = await countSql(`SELECT uniqExact(span_id) AS n FROM ${spansTable} WHERE name = 'api-span'`)
    if (stored >= API_SPANS) break
    assert.ok(Date.now() < deadline, `only ${stored} of ${API_SPANS} spans stored`)
  }
  // The rule is loaded by both workers before the race (its status is served by the API).
  for (const deadline = Date.now() + 30_000; ; await sleep(250)) {
    const rules = (await ok(api, 'GET', '/v1/rules')).rules as Array<{ id: string; state: string }>
    if (rules.find((r) => r.id === 'raced')?.state === 'active') break
    assert.ok(Date.now() < deadline, `the rule is not active: ${JSON.stringify(rules)}`)
  }
  const stored = (Date.now() - started) / 1000

  // The race: rule matches, from-spans on both APIs, and publishes on both APIs, at once.
  const answers: Record<string, number> = {}
  const acknowledged: string[] = []
  let appending = true
  const ruleSpans = Array.from({ length: RULE_SPANS }, () => ({
    traceId: randomHexId(16),
    spanId: randomHexId(8),
    name: 'rule-span',
  }))
  const ruleLoad = (async () => {
    for (let i = 0; i < ruleSpans.length; i += 100) await exportSpans(key, ruleSpans.slice(i, i + 100))
  })()
  const calls = Array.from({ length: API_SPANS / REFS_PER_CALL }, (_, i) =>
    apiSpans.slice(i * REFS_PER_CALL, (i + 1) * REFS_PER_CALL),
  )
  const apiLoad = Promise.all(
    apis.flatMap((base, a) =>
      Array.from({ length: CALLS_IN_FLIGHT_PER_API }, async () => {
        for (let next = calls.shift(); next; next = calls.shift()) {
          const answer = await call(base, 'POST', `/v3/evals/datasets/${dataset.id}/items/from-spans`, {
            application_id: app.id,
            start_time: new Date(Date.now() - 3_600_000).toISOString(),
            end_time: new Date(Date.now() + 3_600_000).toISOString(),
            spans: next.map((s) => ({ trace_id: s.traceId, span_id: s.spanId })),
            mapping,
          })
          const label = `from-spans api${a} ${answer.status}${answer.status === 200 ? '' : ` ${answer.body.error?.code}`}`
          answers[label] = (answers[label] ?? 0) + 1
          if (answer.status === 200) acknowledged.push(...answer.body.data.items.map((i: any) => i.item_id))
          else assert.equal(answer.status, 409, JSON.stringify(answer.body))
        }
      }),
    ),
  )
  const publishLoad = Promise.all(
    apis.map(async (base, a) => {
      while (appending) {
        const answer = await call(base, 'POST', `/v1/datasets/${dataset.id}/publish`)
        const label = `publish api${a} ${answer.status}`
        answers[label] = (answers[label] ?? 0) + 1
        assert.ok(answer.status === 200 || answer.status === 409, JSON.stringify(answer.body))
        await sleep(150)
      }
    }),
  )
  await Promise.all([ruleLoad, apiLoad])
  appending = false
  await publishLoad
  const raced = (Date.now() - started) / 1000

  // Settled: the rule workers have handed every match over, and the owners have run them.
  for (const deadline = Date.now() + 60_000; ; await sleep(500)) {
    if (
      (await caughtUp(ConsumerGroup.ruleWorker, Topic.spans)) &&
      (await caughtUp(DATASET_APPENDER_GROUP, Topic.datasetAppends))
    )
      break
    assert.ok(Date.now() < deadline, 'the rule workers and owners did not catch up within 60 s')
  }
  const settled = (Date.now() - started) / 1000

  // Drafts: with nothing unpublished, reviewers on both APIs annotate rows at once; each
  // change needs a draft, and exactly one is created (seeded with the published rows).
  const lastPublish = await call(api, 'POST', `/v1/datasets/${dataset.id}/publish`)
  assert.ok(lastPublish.status === 200 || lastPublish.status === 409, JSON.stringify(lastPublish.body))
  const patched = await Promise.all(
    acknowledged.slice(0, 8).map((itemId, i) =>
      call(apis[i % 2]!, 'PATCH', `/v1/datasets/${dataset.id}/items/${itemId}`, {
        annotation: `reviewed on api${i % 2}`,
      }),
    ),
  )
  for (const answer of patched) assert.equal(answer.status, 200, JSON.stringify(answer.body))

  // Every version id stored, each with its latest row (a publish writes a new copy of its
  // version's row), without FINAL: two drafts, or two versions of one number, are two
  // version ids here whatever merges did. The items are counted as stored copies below.
  const versions = await storage.runner.select<{ version_id: string; number: number; status: string }>(
    'test',
    `SELECT version_id, argMax(number, updated_at) AS number, argMax(status, updated_at) AS status
     FROM ${datasetVersions} WHERE dataset_id = {id:UUID}
     GROUP BY version_id HAVING argMax(is_deleted, updated_at) = 0 ORDER BY number`,
    { id: dataset.id },
  )
  // Rows per version as stored (merges are stopped): rows as appended (or seeded),
  // distinct items, and the reviewers' changes (a PATCH writes a new copy of its row).
  const perVersion = await storage.runner.select<{
    version_id: string
    rows: string
    items: string
    reviewed: string
    most: string
  }>(
    'test',
    `SELECT version_id, countIf(annotation = '') AS rows, uniqExactIf(item_id, annotation = '') AS items,
       countIf(annotation != '') AS reviewed,
       max(copies) AS most
     FROM ${datasetItems}
     LEFT JOIN (SELECT version_id, item_id, countIf(annotation = '') AS copies FROM ${datasetItems}
                WHERE dataset_id = {id:UUID} GROUP BY version_id, item_id) AS c USING (version_id, item_id)
     WHERE dataset_id = {id:UUID} GROUP BY version_id`,
    { id: dataset.id },
  )
  const rowsOf = new Map(
    perVersion.map((v) => [
      v.version_id,
      { rows: Number(v.rows), items: Number(v.items), reviewed: Number(v.reviewed), most: Number(v.most) },
    ]),
  )
  t.diagnostic(
    `dataset created after ${created.toFixed(1)} s; spans stored after ${stored.toFixed(1)} s; race over after ${raced.toFixed(1)} s; settled after ${settled.toFixed(1)} s; answers ${JSON.stringify(answers)}; versions ${versions
      .map((v) => `${v.number}:${v.status}:${rowsOf.get(v.version_id)?.rows ?? 0}`)
      .join(' ')}`,
  )

  for (const v of versions) {
    const counted = rowsOf.get(v.version_id) ?? { rows: 0, items: 0, reviewed: 0, most: 0 }
    assert.ok(counted.items <= EVAL_CAP, `version ${v.number} holds ${counted.items} rows, over the cap`)
    // Stored copies: a command redelivered while the owner group rebalances runs again on
    // the partition's new holder, after the old holder's step (the consumer loop's
    // handover), and finds its items there: each item is stored once per version.
    assert.equal(counted.most, 1, `version ${v.number} holds an item ${counted.most} times`)
    assert.equal(counted.reviewed, v.status === 'draft' ? 8 : 0, `version ${v.number}: reviewed rows`)
  }
  assert.equal(versions.filter((v) => v.status === 'draft').length, 1, 'one draft')
  assert.equal(new Set(versions.map((v) => v.number)).size, versions.length, 'no two versions share a number')

  // Every row of a published version was copied into the next version when it was created.
  const itemsOf = async (versionId: string) =>
    new Set(
      (
        await storage.runner.select<{ item_id: string }>(
          'test',
          `SELECT DISTINCT item_id FROM ${datasetItems} WHERE dataset_id = {id:UUID} AND version_id = {v:UInt64}`,
          { id: dataset.id, v: versionId },
        )
      ).map((r) => r.item_id),
    )
  for (let i = 0; i + 1 < versions.length; i++) {
    assert.equal(versions[i]!.status, 'published')
    const published = await itemsOf(versions[i]!.version_id)
    const next = await itemsOf(versions[i + 1]!.version_id)
    const late = [...published].filter((item) => !next.has(item))
    assert.deepEqual(late, [], `rows landed in version ${versions[i]!.number} after it was published`)
  }
  // Nothing an API acknowledged is missing from the latest version.
  const latest = await itemsOf(versions.at(-1)!.version_id)
  assert.deepEqual(
    acknowledged.filter((item) => !latest.has(item)),
    [],
    'every acknowledged row is in the latest version',
  )
  t.diagnostic(`checked after ${((Date.now() - started) / 1000).toFixed(1)} s`)
  // The race was one: it published, and it reached the cap.
  assert.ok(
    (answers['publish api0 200'] ?? 0) + (answers['publish api1 200'] ?? 0) >= 2,
    'the race published',
  )
  const refused = Object.entries(answers)
    .filter(([label]) => label.startsWith('from-spans') && label.endsWith('409 dataset_cap_reached'))
    .reduce((sum, [, n]) => sum + n, 0)
  assert.ok(refused > 0, 'the APIs were refused at the cap: the race did reach it')
})
