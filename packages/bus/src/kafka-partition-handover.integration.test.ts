import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { silentLogger } from '@spansift/core/logger'
import { provisionTopics } from './kafka-bus.ts'
import { type ConsumerLoop, type RawMessage, startConsumerLoop } from './kafka-consumer-loop.ts'
import { createCollectorProducer } from './test-collector-producer.ts'
import { kafkaTestBrokers } from './test-kafka-broker.ts'

// A partition moving between two members of a group, on the real broker: Kafka hands it
// to the new member as soon as the group has rebalanced, while the old member is still in
// the middle of a batch. The consumer loop's handover keeps their steps apart.
const brokers = kafkaTestBrokers()

const PARTITIONS = 4
const MESSAGES = 240
const STEP_MS = 1_000
const HANDOVER_MS = 3_000

/** One handler call of one member: the messages it held, and when it ran. */
interface Step {
  member: string
  partitions: Set<number>
  offsets: string[]
  start: number
  end: number
}

test('a partition moving to a new member is processed by one member at a time', async (t) => {
  const suffix = randomUUID().slice(0, 8)
  const topic = `test.handover.${suffix}`
  await provisionTopics(
    { brokers, clientId: `test-${suffix}`, topics: [topic], partitions: PARTITIONS },
    silentLogger,
  )
  const producer = createCollectorProducer(brokers, `test-${suffix}-producer`)
  await producer.send({
    messages: Array.from({ length: MESSAGES }, (_, i) => ({
      topic,
      partition: i % PARTITIONS,
      key: Buffer.from(String(i)),
      value: Buffer.from(String(i)),
    })),
  })
  await producer.close()

  const steps: Step[] = []
  const handled = new Map<string, number>()
  // Each handler call is one step that takes a while and cannot be interrupted, like an insert.
  const member = (name: string): ConsumerLoop =>
    startConsumerLoop<RawMessage>({
      brokers,
      clientId: `test-${suffix}-${name}`,
      group: `test-handover-${suffix}`,
      topic,
      decode: (message) => ({ items: [message] }),
      async handle(messages) {
        const start = Date.now()
        await sleep(STEP_MS)
        steps.push({
          member: name,
          partitions: new Set(messages.map((m) => m.partition)),
          offsets: messages.map((m) => `${m.partition}:${m.offset}`),
          start,
          end: Date.now(),
        })
        for (const m of messages) {
          const key = `${m.partition}:${m.offset}`
          handled.set(key, (handled.get(key) ?? 0) + 1)
        }
      },
      handoverMs: HANDOVER_MS,
      maxBatchItems: 20,
      maxBatchDelayMs: 20,
      logger: silentLogger,
    })

  const first = member('first')
  let second: ConsumerLoop | undefined
  try {
    // The second member joins while the first is in the middle of its batches.
    const deadline = Date.now() + 60_000
    while (steps.length < 1 && Date.now() < deadline) await sleep(20)
    assert.ok(steps.length >= 1, 'the first member started processing')
    second = member('second')
    while (handled.size < MESSAGES && Date.now() < deadline) await sleep(50)
    assert.equal(handled.size, MESSAGES, 'every message is processed')
  } finally {
    await Promise.all([first.stop(), second?.stop()])
  }

  const members = new Set(steps.map((s) => s.member))
  const overlaps: string[] = []
  for (const a of steps) {
    for (const b of steps) {
      if (a.member >= b.member) continue
      const shared = [...a.partitions].filter((p) => b.partitions.has(p))
      if (shared.length > 0 && a.start < b.end && b.start < a.end)
        overlaps.push(
          `partitions ${shared.join(',')}: ${a.member} ${a.start}–${a.end}, ${b.member} ${b.start}–${b.end}`,
        )
    }
  }
  const twice = [...handled.values()].filter((n) => n > 1).length
  t.diagnostic(`${steps.length} steps by ${[...members].join(' and ')}; ${twice} messages processed twice`)
  assert.deepEqual(
    [...members].sort(),
    ['first', 'second'],
    'the partitions were shared between the two members',
  )
  assert.deepEqual(overlaps, [], 'no partition had two members in a step at once')
})

test('a partition that leaves a member before anything of it was committed, and comes back, is processed from its start', async () => {
  const suffix = randomUUID().slice(0, 8)
  const topic = `test.return.${suffix}`
  const partitions = 2
  const perPartition = 50
  await provisionTopics({ brokers, clientId: `test-${suffix}`, topics: [topic], partitions }, silentLogger)
  const producer = createCollectorProducer(brokers, `test-${suffix}-producer`)
  await producer.send({
    messages: Array.from({ length: partitions * perPartition }, (_, i) => ({
      topic,
      partition: i % partitions,
      key: Buffer.from(String(i)),
      value: Buffer.from(String(i)),
    })),
  })
  await producer.close()

  const handled = new Set<string>()
  let read = 0
  let secondJoined = false
  // The handover time is what keeps a member from processing a partition it just gained:
  // long enough here for the second member to come and go before either processes anything.
  const member = (name: string): ConsumerLoop =>
    startConsumerLoop<RawMessage>({
      brokers,
      clientId: `test-${suffix}-${name}`,
      group: `test-return-${suffix}`,
      topic,
      decode: (message) => {
        if (name === 'first') read++
        return { items: [message] }
      },
      async handle(messages) {
        for (const m of messages) handled.add(`${m.partition}:${m.offset}`)
      },
      handoverMs: 8_000,
      maxBatchItems: 1_000,
      maxBatchDelayMs: 20,
      logger: silentLogger,
      onConsumerStarted: () => {
        if (name === 'second') secondJoined = true
      },
    })

  const first = member('first')
  let second: ConsumerLoop | undefined
  try {
    const deadline = Date.now() + 60_000
    // The first member has read every message and is waiting out its handover time.
    while (read < partitions * perPartition && Date.now() < deadline) await sleep(20)
    assert.equal(read, partitions * perPartition, 'the first member read everything')
    assert.equal(handled.size, 0, 'nothing processed yet')
    // A second member takes one partition, and leaves before processing (or committing) it.
    second = member('second')
    while (!secondJoined && Date.now() < deadline) await sleep(20)
    assert.ok(secondJoined, 'the second member joined')
    await second.stop()
    // The partition is the first member's again: what it had read of it and dropped when
    // it left is read again, from the partition's start (nothing was committed).
    while (handled.size < partitions * perPartition && Date.now() < deadline) await sleep(50)
    assert.equal(handled.size, partitions * perPartition, 'every message is processed')
  } finally {
    await Promise.all([first.stop(), second?.stop()])
  }
})
