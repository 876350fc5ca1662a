// Compares kafkajs and @platformatic/kafka against a real Kafka broker (deploy/kafka):
// does every call spansift needs work, and how fast are produce and consume.
//
//   deploy/kafka/kafka.sh start
//   node --conditions=spansift-test load-tests/kafka-clients/compare-clients.ts [options]
//
// Options:
//   --client all|kafkajs|platformatic   (default all; each client runs in its own child process)
//   --messages N        throughput messages per run (default 200000)
//   --batch N           messages per send() call (default 1000)
//   --concurrency N     send() calls in flight (default 4)
//   --runs N            throughput runs per client (default 1)
//   --race-rounds N     fresh topics per in-flight setting in the idempotence check (default 5)
//   --outage            also stop and restart the broker mid-produce (uses deploy/kafka/kafka.sh,
//                       or $SPANSIFT_KAFKA_CTL, with --dir $SPANSIFT_KAFKA_DIR when set)
//   --outage-retries N  producer retries in the outage test (default: the client's own default)
//   --skip-checks / --skip-throughput
//   --json FILE         also write all results as JSON
//
// Broker address: $SPANSIFT_KAFKA_BROKERS (comma-separated), default 127.0.0.1:19092.
// Every loop is bounded in count and time; a check that hangs is reported as a timeout.

import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createKafkajsAdapter } from './adapters/kafkajs.ts'
import { createPlatformaticAdapter } from './adapters/platformatic.ts'
import type { ClientAdapter, ConsumerHandle, GroupProtocol, InMessage, OutMessage } from './adapters/types.ts'
import {
  brokerCtl,
  errorMessage,
  fmt,
  type MachineInfo,
  machineInfo,
  sleep,
  spanValue,
  traceId,
  waitFor,
  withTimeout,
} from './util.ts'

const CLIENTS = ['kafkajs', 'platformatic'] as const
type ClientName = (typeof CLIENTS)[number]

const { values: args } = parseArgs({
  options: {
    client: { type: 'string', default: 'all' },
    messages: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '4' },
    runs: { type: 'string', default: '1' },
    'race-rounds': { type: 'string', default: '5' },
    outage: { type: 'boolean', default: false },
    'outage-retries': { type: 'string' },
    'skip-checks': { type: 'boolean', default: false },
    'skip-throughput': { type: 'boolean', default: false },
    json: { type: 'string' },
    child: { type: 'boolean', default: false },
  },
})

const brokers = (process.env['SPANSIFT_KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',').map((s) => s.trim())
const N = Number(args.messages)
const BATCH = Number(args.batch)
const CONCURRENCY = Number(args.concurrency)
const RUNS = Number(args.runs)
const RACE_ROUNDS = Number(args['race-rounds'])
const numeric = {
  messages: N,
  batch: BATCH,
  concurrency: CONCURRENCY,
  runs: RUNS,
  'race-rounds': RACE_ROUNDS,
}
for (const [name, v] of Object.entries(numeric)) {
  if (!Number.isInteger(v) || v < 1 || v > 10_000_000)
    throw new Error(`--${name} must be an integer in 1..1e7`)
}
/** Upper bound for one produce or consume phase of a throughput run. */
const PHASE_LIMIT_MS = 180_000
/** Upper bound for one client's child process. */
const CHILD_LIMIT_MS = 20 * 60_000

interface CheckResult {
  name: string
  ok: boolean
  ms: number
  detail: string
}

interface ThroughputRun {
  messages: number
  valueBytes: number
  partitions: number
  produceMs: number
  produceMsgPerSec: number
  produceMiBPerSec: number
  consumeMs: number
  consumeMsgPerSec: number
  consumeSteadyMsgPerSec: number
  committedEqualsProduced: boolean
  /** Records found in the topic: N + 1 warmup message when every record was written once. */
  recordsInTopic: number
  error?: string
}

interface ClientResult {
  client: ClientName
  library: string
  version: string
  checks: CheckResult[]
  throughput: ThroughputRun[]
  outage?: Record<string, unknown>
  logs: string[]
}

const runTag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`

// ------------------------------------------------------------------ child: one client

async function runClient(client: ClientName): Promise<ClientResult> {
  const logs: string[] = []
  const log = (line: string) => {
    if (logs.length < 200) logs.push(line.slice(0, 400))
    process.stderr.write(`[${client}] ${line}\n`)
  }
  process.on('unhandledRejection', (err) => log(`unhandled rejection: ${errorMessage(err)}`))
  process.on('uncaughtException', (err) => log(`uncaught exception: ${errorMessage(err)}`))

  const adapter =
    client === 'kafkajs' ? createKafkajsAdapter(brokers, log) : createPlatformaticAdapter(brokers, log)
  const result: ClientResult = {
    client,
    library: adapter.name,
    version: adapter.version,
    checks: [],
    throughput: [],
    logs,
  }
  const tag = `${client}-${runTag}`

  const check = async (name: string, timeoutMs: number, fn: () => Promise<string>) => {
    const start = performance.now()
    try {
      const detail = await withTimeout(fn(), timeoutMs, name)
      result.checks.push({ name, ok: true, ms: Math.round(performance.now() - start), detail })
      log(`PASS ${name}: ${detail}`)
    } catch (err) {
      const detail = errorMessage(err)
      result.checks.push({ name, ok: false, ms: Math.round(performance.now() - start), detail })
      log(`FAIL ${name}: ${detail}`)
    }
  }

  if (!args['skip-checks']) await runChecks(adapter, tag, check, log)
  if (!args['skip-throughput']) {
    for (let run = 1; run <= RUNS; run++) {
      result.throughput.push(await throughput(adapter, `${tag}-${run}`, log))
    }
  }
  if (args.outage) result.outage = await outage(adapter, tag, log)
  await withTimeout(adapter.close(), 10_000, 'admin close').catch((err) =>
    log(`admin close: ${errorMessage(err)}`),
  )
  return result
}

type Check = (name: string, timeoutMs: number, fn: () => Promise<string>) => Promise<void>

/** Closes a client handle without letting a hanging close stall the run. */
async function closeQuietly(
  what: string,
  h: { close(): Promise<void> } | undefined,
  log: (s: string) => void,
) {
  if (!h) return
  await withTimeout(h.close(), 20_000, `${what} close`).catch((err) =>
    log(`${what} close: ${errorMessage(err)}`),
  )
}

async function runChecks(adapter: ClientAdapter, tag: string, check: Check, log: (s: string) => void) {
  const t6 = `cmp-${tag}-p6`
  const t1 = `cmp-${tag}-p1`

  await check('admin createTopics with N partitions', 30_000, async () => {
    await adapter.createTopic(t6, 6)
    await adapter.createTopic(t1, 1)
    const n = await adapter.partitionCount(t6)
    if (n !== 6) throw new Error(`expected 6 partitions, metadata says ${n}`)
    return 'created 6- and 1-partition topics; metadata shows 6'
  })

  // 10 messages: hex trace-id keys, two headers (one binary), values of random bytes (not UTF-8).
  const sent: OutMessage[] = Array.from({ length: 10 }, () => ({
    key: Buffer.from(traceId()),
    value: Buffer.concat([Buffer.from([0x00, 0xff, 0xfe, 0x80]), Buffer.from(traceId(), 'hex')]),
    headers: { 'x-tenant': Buffer.from('acme'), 'x-bin': Buffer.from([0, 255, 1, 2]) },
  }))

  await check('idempotent producer, acks=all, send with key + headers', 30_000, async () => {
    const producer = await adapter.createProducer({ clientId: `cmp-${tag}-p` })
    try {
      await producer.send(t1, sent)
    } finally {
      await closeQuietly('producer', producer, log)
    }
    return '10 messages acknowledged'
  })

  // send() calls on one idempotent producer to topics created a moment before, so that the
  // first produce requests meet NOT_LEADER_OR_FOLLOWER / UNKNOWN_TOPIC_OR_PARTITION, as after a
  // topic creation or a leader move: --race-rounds topics x 20,000 messages, 1000 per send,
  // 1 or 4 sends in flight. Counts topics with a rejected send and topics with duplicates.
  for (const inFlight of [1, 4]) {
    await check(
      `idempotent, ${inFlight} send${inFlight > 1 ? 's' : ''} in flight, fresh topic: every record stored once`,
      30_000 * RACE_ROUNDS,
      async () => {
        const perTopic = 20_000
        let rejectedTopics = 0
        let dupTopics = 0
        let dupRecords = 0n
        const errors = new Set<string>()
        for (let round = 0; round < RACE_ROUNDS; round++) {
          // A new producer per topic: kafkajs producers break once a topic they wrote to is
          // deleted (separate check below).
          const producer = await adapter.createProducer({ clientId: `cmp-${tag}-race${inFlight}-${round}` })
          try {
            const topic = `cmp-${tag}-race${inFlight}-${round}`
            // Messages first, so that the sends follow the topic creation at once.
            const msgs = Array.from({ length: perTopic }, (_, i) => {
              const trace = traceId()
              return { key: Buffer.from(trace), value: spanValue(trace, i) }
            })
            await adapter.createTopic(topic, 6, false)
            let next = 0
            const worker = async () => {
              while (next < msgs.length) {
                const start = next
                next = Math.min(next + 1000, msgs.length)
                await withTimeout(producer.send(topic, msgs.slice(start, next)), 25_000, 'send')
              }
            }
            let rejected = false
            await Promise.all(Array.from({ length: inFlight }, worker)).catch((err: unknown) => {
              rejected = true
              errors.add(errorMessage(err).slice(0, 160))
            })
            let stored = 0n
            for (const v of (await adapter.endOffsets(topic)).values()) stored += v
            if (rejected) rejectedTopics++
            else if (stored !== BigInt(perTopic)) {
              dupTopics++
              dupRecords += stored - BigInt(perTopic)
            }
            await adapter.deleteTopic(topic).catch(() => {})
          } finally {
            await closeQuietly('producer', producer, log)
          }
        }
        const summary =
          `${RACE_ROUNDS} topics x ${perTopic}: ${RACE_ROUNDS - rejectedTopics - dupTopics} exact, ` +
          `${rejectedTopics} with a rejected send, ${dupTopics} with all sends resolved but ${dupRecords} extra records`
        if (rejectedTopics || dupTopics)
          throw new Error(`${summary}; errors: ${[...errors].join(' | ') || 'none'}`)
        return summary
      },
    )
  }

  await check('producer keeps working after a topic it wrote to is deleted', 60_000, async () => {
    const producer = await adapter.createProducer({ clientId: `cmp-${tag}-del` })
    try {
      const doomed = `cmp-${tag}-doomed`
      const next = `cmp-${tag}-after-delete`
      await adapter.createTopic(doomed, 1)
      await producer.send(doomed, [{ key: Buffer.from('k'), value: Buffer.from('v') }])
      await adapter.deleteTopic(doomed)
      await adapter.createTopic(next, 1)
      const t0 = performance.now()
      await withTimeout(
        producer.send(next, [{ key: Buffer.from('k'), value: Buffer.from('v') }]),
        40_000,
        'send to another topic',
      )
      return `send to another topic ok after ${fmt(performance.now() - t0)} ms`
    } finally {
      await closeQuietly('producer', producer, log)
    }
  })

  const group1 = `cmp-${tag}-g1`
  await check('consume in group: keys, headers, binary values intact', 60_000, async () => {
    const seen: InMessage[] = []
    const c = await adapter.createConsumer({
      clientId: `cmp-${tag}-c1`,
      groupId: group1,
      topic: t1,
      fromBeginning: true,
      onBatch: async (msgs) => {
        seen.push(...msgs)
        return msgs.length
      },
    })
    try {
      await waitFor(() => seen.length >= sent.length, 45_000, 'receive 10 messages')
    } finally {
      await closeQuietly('consumer', c, log)
    }
    const byOffset = [...new Map(seen.map((m) => [m.offset, m])).values()].sort((a, b) =>
      a.offset < b.offset ? -1 : 1,
    )
    for (const [i, want] of sent.entries()) {
      const got = byOffset[i]
      if (!got) throw new Error(`message ${i} missing`)
      if (!got.key?.equals(want.key)) throw new Error(`message ${i}: key differs`)
      if (!got.value?.equals(want.value)) throw new Error(`message ${i}: binary value differs`)
      for (const [h, v] of Object.entries(want.headers ?? {})) {
        if (!got.headers[h]?.equals(v)) throw new Error(`message ${i}: header ${h} differs`)
      }
    }
    return `10/10 equal (key, 2 headers, ${sent[0]?.value.length}-byte binary value)`
  })

  // Manual commit: process (and commit) only offsets 0..4, "fail" on 5..9. The group must
  // then hold offset 5, not 10 (no auto-commit), and a new member must resume at 5.
  const group2 = `cmp-${tag}-g2`
  await check('manual commit only after processing; new member resumes there', 90_000, async () => {
    const seen1: bigint[] = []
    let c1: ConsumerHandle | undefined = await adapter.createConsumer({
      clientId: `cmp-${tag}-c2a`,
      groupId: group2,
      topic: t1,
      fromBeginning: true,
      onBatch: async (msgs) => {
        for (const m of msgs) seen1.push(m.offset)
        return msgs.filter((m) => m.offset < 5n).length
      },
    })
    try {
      await waitFor(() => seen1.includes(9n), 45_000, 'first member receives offsets 0..9')
      await waitFor(
        async () => (await adapter.committedOffsets(group2, t1)).get(0) === 5n,
        15_000,
        'committed offset 5',
        250,
      )
      await sleep(2000)
      const still = (await adapter.committedOffsets(group2, t1)).get(0)
      if (still !== 5n) throw new Error(`committed offset moved to ${still} without a commit`)
      if (c1.errors.length) throw new Error(`first member errors: ${c1.errors.join('; ')}`)
    } finally {
      await closeQuietly('consumer', c1, log)
      c1 = undefined
    }
    const seen2: bigint[] = []
    const c2 = await adapter.createConsumer({
      clientId: `cmp-${tag}-c2b`,
      groupId: group2,
      topic: t1,
      fromBeginning: true,
      onBatch: async (msgs) => {
        for (const m of msgs) seen2.push(m.offset)
        return msgs.length
      },
    })
    try {
      await waitFor(() => seen2.includes(9n), 45_000, 'second member receives offsets up to 9')
      await waitFor(
        async () => (await adapter.committedOffsets(group2, t1)).get(0) === 10n,
        15_000,
        'committed offset 10',
        250,
      )
    } finally {
      await closeQuietly('consumer', c2, log)
    }
    const first = [...seen2].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[0]
    if (first !== 5n) throw new Error(`second member started at offset ${first}, expected 5`)
    return 'committed 5 after processing 0..4 (stayed 5); next member resumed at 5 and committed 10'
  })

  for (const protocol of ['classic', 'consumer'] as const) {
    const name =
      protocol === 'classic'
        ? 'rebalance: 2nd member joins, then leaves (classic protocol)'
        : 'rebalance with KIP-848 "consumer" group protocol'
    await check(name, 120_000, () => rebalance(adapter, tag, t6, protocol, log))
  }
}

async function rebalance(
  adapter: ClientAdapter,
  tag: string,
  topic: string,
  protocol: GroupProtocol,
  log: (s: string) => void,
): Promise<string> {
  const groupId = `cmp-${tag}-reb-${protocol}`
  const gotA = new Set<string>()
  const handles: ConsumerHandle[] = []
  try {
    const a = await adapter.createConsumer({
      clientId: `cmp-${tag}-ra`,
      groupId,
      topic,
      fromBeginning: false,
      protocol,
      onBatch: async (msgs) => {
        for (const m of msgs) gotA.add(m.value?.toString() ?? '')
        return msgs.length
      },
    })
    handles.push(a)
    const tJoinA = await waitFor(() => a.assigned().length === 6, 45_000, 'member A gets 6 partitions', 100)
    const b = await adapter.createConsumer({
      clientId: `cmp-${tag}-rb`,
      groupId,
      topic,
      fromBeginning: false,
      protocol,
      onBatch: async (msgs) => msgs.length,
    })
    handles.push(b)
    const tSplit = await waitFor(
      () => {
        const pa = a.assigned()
        const pb = b.assigned()
        return (
          pa.length > 0 && pb.length > 0 && pa.length + pb.length === 6 && !pa.some((p) => pb.includes(p))
        )
      },
      45_000,
      'partitions split between A and B',
      100,
    )
    const split = `${a.assigned().length}+${b.assigned().length}`
    const tLeave0 = performance.now()
    await closeQuietly('member B', b, log)
    handles.pop()
    const tBack = await waitFor(
      () => a.assigned().length === 6,
      45_000,
      'A gets all 6 back after B left',
      100,
    )
    const leaveMs = performance.now() - tLeave0
    // A really consumes all partitions now: 60 keyed messages must all arrive.
    const producer = await adapter.createProducer({ clientId: `cmp-${tag}-rp` })
    const probe = Array.from({ length: 60 }, (_, i) => ({
      key: Buffer.from(traceId()),
      value: Buffer.from(`reb-${i}`),
    }))
    try {
      await producer.send(topic, probe)
    } finally {
      await closeQuietly('producer', producer, log)
    }
    await waitFor(
      () => probe.every((m) => gotA.has(m.value.toString())),
      30_000,
      'A receives 60 new messages',
    )
    const errs = handles.flatMap((h) => h.errors)
    if (errs.length) log(`rebalance (${protocol}) async errors: ${errs.join('; ')}`)
    return (
      `A alone: 6 partitions after ${fmt(tJoinA)} ms; B joined: split ${split} after ${fmt(tSplit)} ms; ` +
      `B left: A back to 6 after ${fmt(Math.max(tBack, leaveMs))} ms; A then got 60/60 new messages`
    )
  } finally {
    for (const h of handles) await closeQuietly('rebalance member', h, log)
  }
}

// ------------------------------------------------------------------ throughput

async function throughput(
  adapter: ClientAdapter,
  tag: string,
  log: (s: string) => void,
): Promise<ThroughputRun> {
  const partitions = 6
  const topic = `bench-${tag}`
  const messages: OutMessage[] = []
  for (let i = 0; i < N; i++) {
    const trace = traceId()
    messages.push({ key: Buffer.from(trace), value: spanValue(trace, i) })
  }
  const valueBytes = messages[0]?.value.length ?? 0
  const run: ThroughputRun = {
    messages: N,
    valueBytes,
    partitions,
    produceMs: 0,
    produceMsgPerSec: 0,
    produceMiBPerSec: 0,
    consumeMs: 0,
    consumeMsgPerSec: 0,
    consumeSteadyMsgPerSec: 0,
    committedEqualsProduced: false,
    recordsInTopic: 0,
  }
  try {
    await withTimeout(adapter.createTopic(topic, partitions), 30_000, 'create bench topic')

    // --- produce: CONCURRENCY workers, each sends BATCH messages per call and awaits the ack.
    const producer = await withTimeout(
      adapter.createProducer({ clientId: `bench-${tag}-p` }),
      30_000,
      'producer',
    )
    try {
      await withTimeout(
        producer.send(topic, [{ key: Buffer.from('warmup'), value: Buffer.from('w') }]),
        30_000,
        'warmup',
      )
      let next = 0
      const deadline = performance.now() + PHASE_LIMIT_MS
      const t0 = performance.now()
      const worker = async () => {
        while (next < messages.length) {
          if (performance.now() > deadline) throw new Error(`produce exceeded ${PHASE_LIMIT_MS} ms`)
          const start = next
          next = Math.min(next + BATCH, messages.length)
          await withTimeout(producer.send(topic, messages.slice(start, next)), 60_000, `send @${start}`)
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
      run.produceMs = performance.now() - t0
    } finally {
      await closeQuietly('producer', producer, log)
    }
    let inTopic = 0n
    for (const v of (await withTimeout(adapter.endOffsets(topic), 30_000, 'end offsets')).values())
      inTopic += v
    run.recordsInTopic = Number(inTopic)
    run.produceMsgPerSec = N / (run.produceMs / 1000)
    run.produceMiBPerSec = (N * valueBytes) / 2 ** 20 / (run.produceMs / 1000)
    log(
      `produce: ${fmt(N)} msgs in ${fmt(run.produceMs)} ms = ${fmt(run.produceMsgPerSec)} msg/s; ` +
        `topic holds ${fmt(run.recordsInTopic)} records (${fmt(run.recordsInTopic - N - 1)} duplicates)`,
    )

    // --- consume: one member of a new group, from the beginning, commit after each batch.
    const total = run.recordsInTopic // N + warmup, unless the producer wrote duplicates
    let count = 0
    let firstAt = 0
    let doneAt = 0
    const groupId = `bench-${tag}-g`
    const t0 = performance.now()
    const consumer = await withTimeout(
      adapter.createConsumer({
        clientId: `bench-${tag}-c`,
        groupId,
        topic,
        fromBeginning: true,
        onBatch: async (msgs) => {
          if (firstAt === 0) firstAt = performance.now()
          for (const m of msgs) if (m.value === null) throw new Error('null value')
          count += msgs.length
          if (count >= total && doneAt === 0) doneAt = performance.now()
          return msgs.length
        },
      }),
      30_000,
      'consumer',
    )
    try {
      await waitFor(() => doneAt > 0, PHASE_LIMIT_MS, `consume ${total} messages`, 20)
      let committed = new Map<number, bigint>()
      const committedSum = () => [...committed.values()].reduce((a, b) => a + b, 0n)
      await waitFor(
        async () => {
          committed = await adapter.committedOffsets(groupId, topic)
          return committedSum() === BigInt(total)
        },
        20_000,
        'committed offsets sum to records in topic',
        200,
      ).catch((err: unknown) => {
        const parts = [...committed].map(([p, o]) => `${p}:${o}`).join(' ')
        throw new Error(`${errorMessage(err)} (consumed ${count}, committed ${committedSum()} = ${parts})`)
      })
      run.committedEqualsProduced = true
      if (count !== total) throw new Error(`consumed ${count}, expected ${total} (redelivery?)`)
    } finally {
      await closeQuietly('consumer', consumer, log)
    }
    run.consumeMs = doneAt - t0
    run.consumeMsgPerSec = total / (run.consumeMs / 1000)
    run.consumeSteadyMsgPerSec = total / ((doneAt - firstAt) / 1000)
    log(
      `consume: ${fmt(total)} msgs in ${fmt(run.consumeMs)} ms incl. group join = ${fmt(run.consumeMsgPerSec)} msg/s ` +
        `(${fmt(run.consumeSteadyMsgPerSec)} msg/s from first message)`,
    )
  } catch (err) {
    run.error = errorMessage(err)
    log(`throughput FAILED: ${run.error} (topic ${topic} kept for inspection)`)
    return run
  }
  await withTimeout(adapter.deleteTopic(topic), 30_000, 'delete bench topic').catch(() => {})
  return run
}

// ------------------------------------------------------------------ outage

interface SendRecord {
  id: number
  phase: 'before' | 'down' | 'restarting' | 'after'
  issuedAt: number
  settledAt?: number
  ok?: boolean
  error?: string
}

/**
 * One producer sends a 10-message batch, awaits it, sleeps 100 ms, and again (one send in
 * flight, as spansift's ingest would). 2 s in, the broker is stopped (SIGTERM) and kept down
 * 8 s, then started again; sending goes on until 5 s after it serves again. A send still
 * pending after 90 s counts as a hang and ends the loop. Then the topic is read back to count
 * lost and duplicated messages.
 */
async function outage(
  adapter: ClientAdapter,
  tag: string,
  log: (s: string) => void,
): Promise<Record<string, unknown>> {
  const topic = `outage-${tag}`
  const recs: SendRecord[] = []
  let phase: SendRecord['phase'] = 'before'
  let brokerDown = false
  const marks: Record<string, number> = {}
  const t0 = performance.now()
  const now = () => Math.round(performance.now() - t0)
  try {
    await adapter.createTopic(topic, 3)
    const retries = args['outage-retries'] === undefined ? undefined : Number(args['outage-retries'])
    const producer = await adapter.createProducer({
      clientId: `outage-${tag}-p`,
      ...(retries === undefined ? {} : { retries }),
    })
    await withTimeout(
      producer.send(topic, [{ key: Buffer.from('w'), value: Buffer.from('{"id":-1,"i":0}') }]),
      30_000,
      'warmup',
    )
    let sending = true
    let hung = false
    const sender = (async () => {
      for (let id = 0; sending && id < 1000; id++) {
        const rec: SendRecord = { id, phase, issuedAt: now() }
        recs.push(rec)
        const batch = Array.from({ length: 10 }, (_, i) => ({
          key: Buffer.from(traceId()),
          value: Buffer.from(JSON.stringify({ id, i })),
        }))
        const settled = producer.send(topic, batch).then(
          () => {
            rec.ok = true
            rec.settledAt = now()
          },
          (err: unknown) => {
            rec.ok = false
            rec.error = errorMessage(err)
            rec.settledAt = now()
          },
        )
        await Promise.race([settled, sleep(90_000)])
        if (rec.settledAt === undefined) {
          hung = true
          break
        }
        await sleep(100)
      }
    })()
    await sleep(2000)
    phase = 'down'
    marks['stopRequested'] = now()
    brokerDown = true
    await brokerCtl(['stop'])
    marks['stopped'] = now()
    log(`outage: broker stopped at ${marks['stopped']} ms`)
    await sleep(8000)
    phase = 'restarting'
    marks['startRequested'] = now()
    await brokerCtl(['start'])
    brokerDown = false
    marks['ready'] = now()
    log(`outage: broker serves again at ${marks['ready']} ms`)
    phase = 'after'
    await sleep(5000)
    sending = false
    await withTimeout(sender, 120_000, 'sender loop').catch(() => {})
    marks['lastIssued'] = recs.at(-1)?.issuedAt ?? 0
    await waitFor(() => recs.every((r) => r.settledAt !== undefined), 30_000, 'all sends settle').catch(
      () => {},
    )
    await closeQuietly('producer', producer, log)

    // Read the topic back: which (id, i) landed, and how often.
    const counts = new Map<string, number>()
    let lastGrowth = performance.now()
    const consumer = await adapter.createConsumer({
      clientId: `outage-${tag}-c`,
      groupId: `outage-${tag}-g`,
      topic,
      fromBeginning: true,
      onBatch: async (msgs) => {
        for (const m of msgs) {
          const k = m.value?.toString() ?? ''
          counts.set(k, (counts.get(k) ?? 0) + 1)
        }
        lastGrowth = performance.now()
        return msgs.length
      },
    })
    try {
      await waitFor(
        () => counts.size > 0 && performance.now() - lastGrowth > 4000,
        60_000,
        'read back',
        200,
      ).catch(() => {})
    } finally {
      await closeQuietly('consumer', consumer, log)
    }
    let lost = 0
    let duplicated = 0
    let rejectedButStored = 0
    for (const r of recs) {
      for (let i = 0; i < 10; i++) {
        const c = counts.get(JSON.stringify({ id: r.id, i })) ?? 0
        if (r.ok && c === 0) lost++
        if (c > 1) duplicated += c - 1
        if (r.ok === false && c > 0) rejectedButStored++
      }
    }
    const summarize = (p: SendRecord['phase']) => {
      const rs = recs.filter((r) => r.phase === p)
      return {
        sends: rs.length,
        ok: rs.filter((r) => r.ok === true).length,
        rejected: rs.filter((r) => r.ok === false).length,
        pending: rs.filter((r) => r.settledAt === undefined).length,
        maxLatencyMs: Math.max(0, ...rs.map((r) => (r.settledAt ?? now()) - r.issuedAt)),
      }
    }
    const firstReject = recs.find((r) => r.ok === false)
    const firstOkAfterStop = recs.find((r) => r.ok && (r.settledAt ?? 0) > (marks['stopped'] ?? 0))
    const out = {
      producerRetries: args['outage-retries'] ?? 'client default',
      timeline: marks,
      before: summarize('before'),
      down: summarize('down'),
      restarting: summarize('restarting'),
      after: summarize('after'),
      hungOver90s: hung,
      firstRejection: firstReject
        ? {
            afterStopMs: (firstReject.settledAt ?? 0) - (marks['stopRequested'] ?? 0),
            error: firstReject.error,
          }
        : null,
      firstSuccessAfterStopAtMs: firstOkAfterStop?.settledAt ?? null,
      distinctErrors: [...new Set(recs.filter((r) => r.error).map((r) => r.error))].slice(0, 5),
      ackedMessages: recs.filter((r) => r.ok).length * 10,
      lostAckedMessages: lost,
      duplicatedMessages: duplicated,
      rejectedButStoredMessages: rejectedButStored,
    }
    log(`outage: ${JSON.stringify(out)}`)
    return out
  } catch (err) {
    return { error: errorMessage(err), timeline: marks }
  } finally {
    if (brokerDown)
      await brokerCtl(['start']).catch((err) => log(`restart after failed outage: ${errorMessage(err)}`))
  }
}

// ------------------------------------------------------------------ orchestrator

function runChild(client: ClientName): Promise<ClientResult> {
  const passthrough = process.argv
    .slice(2)
    .filter((a, i, all) => a !== '--client' && all[i - 1] !== '--client')
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      ...passthrough.filter((a) => !a.startsWith('--client=')),
      '--client',
      client,
      '--child',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let stdout = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT_MS)
  return new Promise((resolve, reject) => {
    child.on('close', (code, signal) => {
      clearTimeout(killer)
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '))
      if (line) resolve(JSON.parse(line.slice('RESULT '.length)) as ClientResult)
      else reject(new Error(`${client} child exited with ${code ?? signal} and no result`))
    })
  })
}

function printReport(machine: MachineInfo, results: ClientResult[]) {
  const out: string[] = []
  out.push('')
  out.push(`Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}`)
  out.push(`Node ${machine.node}; broker ${machine.kafkaBroker} at ${brokers.join(',')}`)
  const header = ['check', ...results.map((r) => `${r.library} ${r.version}`)]
  const names = [...new Set(results.flatMap((r) => r.checks.map((c) => c.name)))]
  const rows = names.map((n) => [
    n,
    ...results.map((r) => {
      const c = r.checks.find((x) => x.name === n)
      return c ? `${c.ok ? 'OK' : 'FAIL'} (${fmt(c.ms)} ms)` : '-'
    }),
  ])
  if (rows.length) {
    out.push('')
    out.push(`| ${header.join(' | ')} |`)
    out.push(`|${header.map(() => '---').join('|')}|`)
    for (const r of rows) out.push(`| ${r.join(' | ')} |`)
    for (const r of results) {
      for (const c of r.checks) if (!c.ok) out.push(`  ${r.library} FAIL ${c.name}: ${c.detail}`)
    }
  }
  const tp = results.filter((r) => r.throughput.length)
  if (tp.length) {
    out.push('')
    out.push(
      `Throughput: ${fmt(N)} messages, ~${tp[0]?.throughput[0]?.valueBytes} B values, 32-char hex trace-id keys, ` +
        `6 partitions, idempotent acks=all, ${BATCH} msgs per send, ${CONCURRENCY} sends in flight; ` +
        `consume: 1 group member, commit after each batch`,
    )
    out.push('')
    out.push(
      '| client | run | produce msg/s | produce MiB/s | duplicates written | consume msg/s (incl. join) | consume msg/s (steady) | committed = end offsets |',
    )
    out.push('|---|---|---|---|---|---|---|---|')
    for (const r of tp) {
      r.throughput.forEach((t, i) => {
        out.push(
          t.error
            ? `| ${r.library} | ${i + 1} | FAILED: ${t.error} | | | | | |`
            : `| ${r.library} | ${i + 1} | ${fmt(t.produceMsgPerSec)} | ${fmt(t.produceMiBPerSec, 1)} | ` +
                `${fmt(t.recordsInTopic - t.messages - 1)} | ` +
                `${fmt(t.consumeMsgPerSec)} | ${fmt(t.consumeSteadyMsgPerSec)} | ${t.committedEqualsProduced ? 'yes' : 'no'} |`,
        )
      })
    }
  }
  for (const r of results) {
    if (r.outage) out.push('', `Outage (${r.library}): ${JSON.stringify(r.outage, null, 1)}`)
  }
  process.stdout.write(`${out.join('\n')}\n`)
}

async function main() {
  if (args.child) {
    const client = args.client as ClientName
    const result = await runClient(client)
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`)
    // Clients may keep sockets or timers alive after close: the result is out, leave.
    process.exit(0)
  }
  const machine = machineInfo()
  process.stdout.write(`${JSON.stringify({ machine, brokers, N, BATCH, CONCURRENCY, RUNS })}\n`)
  const chosen = args.client === 'all' ? [...CLIENTS] : [args.client as ClientName]
  for (const c of chosen) if (!CLIENTS.includes(c)) throw new Error(`unknown --client ${c}`)
  const results: ClientResult[] = []
  for (const c of chosen) {
    try {
      results.push(await runChild(c))
    } catch (err) {
      process.stderr.write(`${errorMessage(err)}\n`)
      process.exitCode = 1
    }
  }
  printReport(machine, results)
  if (args.json)
    writeFileSync(
      args.json,
      `${JSON.stringify({ machine, brokers, N, BATCH, CONCURRENCY, results }, null, 2)}\n`,
    )
}

await main()
