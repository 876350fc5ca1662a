import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Storage } from '@spansift/clickhouse/storage'
import { tableNames } from '@spansift/clickhouse/tables'
import { type DistributedStack, startDistributedStack } from './test-distributed-stack.ts'
import { otlpJsonExport, randomHexId } from './test-otlp.ts'
import { startClickHouseProcess, type TestProcess } from './test-processes.ts'

// The distributed wiring as separate processes: a receiver (+ API), span writers in one
// consumer group, a real Kafka broker, and one ClickHouse shared over HTTP (the embedded
// engine behind the ClickHouse HTTP interface). Processes are killed and restarted.

const ADMIN_KEY = 'faults-admin-key-0123456789'
const hex = randomHexId
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let stack: DistributedStack
let storage: Storage
let front: TestProcess
let otlpUrl: string
let appKey: string
const spawnRole = (roles: string[]) => stack.spawnRole(roles)

before(async () => {
  stack = await startDistributedStack({ adminKey: ADMIN_KEY })
  ;({ storage, front, otlpUrl } = stack)
  const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }
  const app = (await (
    await fetch(`${stack.apiUrl}/v1/applications`, { method: 'POST', headers, body: '{"name":"faults"}' })
  ).json()) as {
    id: string
  }
  appKey = (
    (await (
      await fetch(`${stack.apiUrl}/v1/applications/${app.id}/keys`, { method: 'POST', headers })
    ).json()) as {
      key: string
    }
  ).key
})

after(async () => {
  await stack?.stop()
})

/** Sends exports of 10 fresh spans until `stop()`; records which spans were acknowledged. Bounded: 120 s, 20,000 exports. */
function startLoad() {
  const acknowledged = new Set<string>()
  const answers: Record<string, number> = {}
  let stopping = false
  const done = (async () => {
    const deadline = Date.now() + 120_000
    for (let i = 0; i < 20_000 && !stopping && Date.now() < deadline; i++) {
      const spans = Array.from({ length: 10 }, () => ({ traceId: hex(16), spanId: hex(8) }))
      const body = otlpJsonExport(spans, 'load')
      try {
        const response = await fetch(otlpUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${appKey}` },
          body,
          signal: AbortSignal.timeout(20_000),
        })
        await response.arrayBuffer()
        answers[response.status] = (answers[response.status] ?? 0) + 1
        if (response.status === 200) for (const s of spans) acknowledged.add(s.spanId)
      } catch {
        answers.none = (answers.none ?? 0) + 1
      }
      await sleep(10)
    }
  })()
  return {
    acknowledged,
    answers,
    async stop() {
      stopping = true
      await done
    },
  }
}

async function stored(): Promise<{ ids: Set<string>; rawRows: number }> {
  const { spans } = tableNames(storage.runner.database)
  const rows = await storage.runner.select<{ span_id: string }>('test', `SELECT span_id FROM ${spans} FINAL`)
  const [raw] = await storage.runner.select<{ n: string }>('test', `SELECT count() AS n FROM ${spans}`)
  return { ids: new Set(rows.map((r) => r.span_id)), rawRows: Number(raw?.n ?? 0) }
}

/** Waits (bounded) until every acknowledged span is stored; asserts none is missing or doubled. */
async function assertAllStoredOnce(
  acknowledged: Set<string>,
): Promise<{ rawRows: number; distinct: number }> {
  const deadline = Date.now() + 90_000
  let current = await stored()
  while ([...acknowledged].some((id) => !current.ids.has(id)) && Date.now() < deadline) {
    await sleep(500)
    current = await stored()
  }
  const missing = [...acknowledged].filter((id) => !current.ids.has(id))
  assert.deepEqual(
    missing.length,
    0,
    `${missing.length} of ${acknowledged.size} acknowledged spans are not stored`,
  )
  const { spans } = tableNames(storage.runner.database)
  const [counts] = await storage.runner.select<{ rows: string; distinct: string }>(
    'test',
    `SELECT count() AS rows, uniqExact(span_id) AS distinct FROM ${spans} FINAL`,
  )
  assert.equal(Number(counts!.rows), Number(counts!.distinct), 'a span is read more than once')
  return { rawRows: current.rawRows, distinct: Number(counts!.distinct) }
}

describe('distributed wiring under faults', () => {
  test('a span writer killed with SIGKILL mid-batch and restarted: no span lost, none duplicated', async (t) => {
    const writer = await spawnRole(['span-writer'])
    const load = startLoad()
    await sleep(3_000)
    await writer.kill()
    await sleep(2_000)
    const restarted = await spawnRole(['span-writer'])
    await sleep(3_000)
    await load.stop()
    const result = await assertAllStoredOnce(load.acknowledged)
    t.diagnostic(
      `answers ${JSON.stringify(load.answers)}; ${result.distinct} spans stored, ${result.rawRows} rows before merges`,
    )
    await restarted.stop()
  })

  test('ClickHouse unreachable for a while: the writer pauses, commits nothing, then catches up', async (t) => {
    const writer = await spawnRole(['span-writer'])
    const load = startLoad()
    await sleep(2_000)
    const port = new URL(stack.clickhouse.url).port
    await stack.clickhouse.process.kill()
    await sleep(6_000)
    stack.clickhouse = await startClickHouseProcess(stack.clickhouseDir, Number(port))
    await sleep(3_000)
    await load.stop()
    const result = await assertAllStoredOnce(load.acknowledged)
    t.diagnostic(`answers ${JSON.stringify(load.answers)}; ${result.distinct} spans stored`)
    assert.match(writer.output(), /batch handler failed; holding the batch and retrying/)
    await writer.stop()
  })

  test('two span writers in one group, one killed: the other takes its partitions', async (t) => {
    const first = await spawnRole(['span-writer'])
    const second = await spawnRole(['span-writer'])
    const load = startLoad()
    await sleep(3_000)
    await first.kill()
    // The group notices the dead member after its session timeout (10 s), then rebalances.
    await sleep(15_000)
    await load.stop()
    const result = await assertAllStoredOnce(load.acknowledged)
    t.diagnostic(`answers ${JSON.stringify(load.answers)}; ${result.distinct} spans stored`)
    assert.equal(second.child.exitCode, null, 'the surviving writer is still running')
    await second.stop()
    assert.ok(front.child.exitCode === null)
  })
})
