import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Storage } from '@spansift/clickhouse/storage'
import { tableNames } from '@spansift/clickhouse/tables'
import {
  type DistributedStack,
  showEventLogOnFailure,
  startDistributedStack,
} from './test-distributed-stack.ts'
import { uncommittedMessages } from './test-kafka-lag.ts'
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
  // A short stall time, so a writer held up by a ClickHouse outage is seen stalled within it.
  stack = await startDistributedStack({ adminKey: ADMIN_KEY, env: { SPANSIFT_CONSUMER_STALL_SECONDS: '2' } })
  ;({ storage, front, otlpUrl } = stack)
  await stopMerges()
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

showEventLogOnFailure(() => stack)

after(async () => {
  await stack?.stop()
})

/**
 * Merges would fold a span's copies into one before the checks count them: with merges
 * stopped, every insert of a span stays a row of its own.
 */
async function stopMerges(): Promise<void> {
  await storage.runner.command('test', `SYSTEM STOP MERGES ${tableNames(storage.runner.database).spans}`)
}

/** The span writers' redelivery window right now: messages not yet committed by their group. */
const redeliveryWindow = () =>
  uncommittedMessages(stack.broker.brokers, 'spansift.spans', 'spansift-span-writer')

/**
 * The largest redelivery window seen over `ms` (sampled): when a group rebalances, the
 * members that keep running lose their uncommitted batch too (its commit fails), so what
 * they may process again is bounded by the window at the rebalance.
 */
async function largestWindowDuring(ms: number): Promise<number> {
  let largest = 0
  const until = Date.now() + ms
  while (Date.now() < until) {
    largest = Math.max(largest, await redeliveryWindow())
    await sleep(250)
  }
  return largest
}

/** A process's /readyz answer (its ops port is in its log). */
async function readiness(p: TestProcess): Promise<{ status: number; checks: Record<string, string> }> {
  const port = /ops server listening[^\n]*"port":(\d+)/.exec(p.output())?.[1]
  assert.ok(port, 'the ops server logged its port')
  const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(10_000) })
  return {
    status: response.status,
    checks: ((await response.json()) as { checks: Record<string, string> }).checks,
  }
}

/** Polls (bounded) until the process's consumers check reads `state`. */
async function waitForConsumers(p: TestProcess, state: 'up' | 'down', timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  let answer = await readiness(p)
  while (answer.checks.consumers !== state && Date.now() < deadline) {
    await sleep(200)
    answer = await readiness(p)
  }
  return answer
}

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

/**
 * Waits (bounded) until every acknowledged span is stored, then counts the raw copies of
 * each (no FINAL, merges stopped: one row per insert). A span may be stored twice only
 * if its message was not yet committed when the fault struck (the consumer then handles
 * it again), so: none is missing, none has more than two copies, and the spans with two
 * are at most the redelivery window read right after the fault.
 */
async function assertAllStoredOnce(
  acknowledged: Set<string>,
  window: number,
): Promise<{ rawRows: number; distinct: number; doubled: number }> {
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
  const copies = await storage.runner.select<{ span_id: string; copies: string }>(
    'test',
    `SELECT span_id, count() AS copies FROM ${spans}
     GROUP BY application_id, trace_id, span_id HAVING copies > 1`,
  )
  const ours = copies.filter((c) => acknowledged.has(c.span_id))
  const most = Math.max(1, ...ours.map((c) => Number(c.copies)))
  assert.ok(most <= 2, `a span is stored ${most} times`)
  assert.ok(
    ours.length <= window,
    `${ours.length} spans are stored twice, more than the ${window} messages uncommitted at the fault`,
  )
  return { rawRows: current.rawRows, distinct: current.ids.size, doubled: ours.length }
}

describe('distributed wiring under faults', () => {
  test('a span writer killed with SIGKILL mid-batch and restarted: no span lost, none duplicated', async (t) => {
    const writer = await spawnRole(['span-writer'])
    const load = startLoad()
    await sleep(3_000)
    await writer.kill()
    const window = await redeliveryWindow()
    await sleep(2_000)
    const restarted = await spawnRole(['span-writer'])
    await sleep(3_000)
    await load.stop()
    const result = await assertAllStoredOnce(load.acknowledged, window)
    t.diagnostic(
      `answers ${JSON.stringify(load.answers)}; ${result.distinct} spans stored, ${result.rawRows} rows before merges; ${result.doubled} stored twice, redelivery window ${window}`,
    )
    await restarted.stop()
  })

  test('ClickHouse unreachable for a while: the writer pauses, commits nothing, then catches up', async (t) => {
    const writer = await spawnRole(['span-writer'])
    const load = startLoad()
    await sleep(2_000)
    const port = new URL(stack.clickhouse.url).port
    await stack.clickhouse.process.kill()
    const outageEnds = Date.now() + 6_000
    const window = await redeliveryWindow()
    // Held up with lag growing for longer than SPANSIFT_CONSUMER_STALL_SECONDS: not ready.
    const stalled = await waitForConsumers(writer, 'down', 15_000)
    assert.equal(stalled.status, 503)
    assert.equal(stalled.checks.consumers, 'down', JSON.stringify(stalled))
    await sleep(Math.max(0, outageEnds - Date.now()))
    stack.clickhouse = await startClickHouseProcess(stack.clickhouseDir, Number(port))
    await stopMerges() // a new server process starts with merges on
    await sleep(3_000)
    await load.stop()
    const result = await assertAllStoredOnce(load.acknowledged, window)
    t.diagnostic(
      `answers ${JSON.stringify(load.answers)}; ${result.distinct} spans stored; ${result.doubled} stored twice, redelivery window ${window}`,
    )
    assert.match(writer.output(), /batch handler failed; holding the batch and retrying/)
    const recovered = await waitForConsumers(writer, 'up', 30_000)
    assert.deepEqual(recovered, { status: 200, checks: { clickhouse: 'up', bus: 'up', consumers: 'up' } })
    await writer.stop()
  })

  test('two span writers in one group, one killed: the other takes its partitions', async (t) => {
    const first = await spawnRole(['span-writer'])
    const second = await spawnRole(['span-writer'])
    const load = startLoad()
    await sleep(3_000)
    await first.kill()
    // The group notices the dead member after its session timeout (10 s), then rebalances:
    // the killed member's window and the survivor's at the rebalance may be processed again.
    const window = (await redeliveryWindow()) + (await largestWindowDuring(15_000))
    await load.stop()
    const result = await assertAllStoredOnce(load.acknowledged, window)
    t.diagnostic(
      `answers ${JSON.stringify(load.answers)}; ${result.distinct} spans stored; ${result.doubled} stored twice, redelivery window ${window}`,
    )
    assert.equal(second.child.exitCode, null, 'the surviving writer is still running')
    await second.stop()
    assert.ok(front.child.exitCode === null)
  })
})
