import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import type { AppendCandidate } from '@spansift/core/datasets/append-candidate'
import { silentLogger } from '@spansift/core/logger'
import { createKafkaAppendQueue } from './kafka-append-queue.ts'
import { kafkaTestBrokers } from './kafka-test-broker.ts'

// The distributed append path on the real broker: what rule workers enqueue reaches the
// appender intact, each dataset's candidates in order through one partition, and a
// failing appender gets the same candidates again (nothing is committed before it succeeds).

const brokers = kafkaTestBrokers()

function candidate(n: number): AppendCandidate {
  return {
    applicationId: '3c90c3cc-0d44-4b50-8888-8dd25736052a',
    traceId: n.toString(16).padStart(32, '0'),
    spanId: n.toString(16).padStart(16, '0'),
    spanStartUnixNano: 1_763_805_600_123_456_789n + BigInt(n),
    sourceKind: 'rule',
    ruleId: 'rule-a',
    row: { inputs: { q: `question ${n}` }, expected_outputs: {}, metadata: { n }, extras: {} },
    inputsHash: `hash-${n}`,
    defaults: { priority: 'high', feedbackCategory: 'negative', labels: ['x'] },
    redactedFields: n % 2 === 0 ? ['inputs.q'] : [],
  }
}

function isolated() {
  const suffix = randomUUID().slice(0, 8)
  return { topic: `test.appends.${suffix}`, group: `test-appender-${suffix}` }
}

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) assert.fail(what)
    await new Promise((r) => setTimeout(r, 50))
  }
}

test('candidates reach the appender intact, per dataset in order, across producer and consumer processes', async () => {
  const names = isolated()
  const options = { brokers, partitions: 3, logger: silentLogger, ...names }
  const producerSide = createKafkaAppendQueue({ ...options, clientId: 'test-producer' })
  const consumerSide = createKafkaAppendQueue({ ...options, clientId: 'test-consumer' })
  const received = new Map<string, AppendCandidate[]>()
  consumerSide.consume(async (datasetId, candidates) => {
    received.set(datasetId, [...(received.get(datasetId) ?? []), ...candidates])
  })
  await producerSide.start()
  await consumerSide.start()
  try {
    const datasets = [randomUUID(), randomUUID(), randomUUID()]
    for (let round = 0; round < 5; round++) {
      await producerSide.enqueue(
        datasets.map((datasetId, d) => ({
          datasetId,
          candidates: Array.from({ length: 20 }, (_, i) => candidate(d * 1000 + round * 20 + i)),
        })),
      )
    }
    await until(() => datasets.every((d) => (received.get(d)?.length ?? 0) >= 100), 'every candidate arrives')
    for (const [d, datasetId] of datasets.entries()) {
      const got = received.get(datasetId)!
      assert.deepEqual(
        got,
        Array.from({ length: 100 }, (_, i) => candidate(d * 1000 + i)),
        'in enqueue order, with every field (int64 start time, defaults, redacted fields)',
      )
    }
  } finally {
    await consumerSide.shutdown()
    await producerSide.shutdown()
  }
})

test('a failing appender gets the same candidates again until it succeeds', async () => {
  const names = isolated()
  const queue = createKafkaAppendQueue({
    brokers,
    partitions: 1,
    logger: silentLogger,
    clientId: 'test-retry',
    ...names,
  })
  let attempts = 0
  const appended: string[] = []
  queue.consume(async (_datasetId, candidates) => {
    attempts++
    if (attempts < 3) throw new Error('ClickHouse is unreachable')
    appended.push(...candidates.map((c) => c.spanId))
  })
  await queue.start()
  try {
    const datasetId = randomUUID()
    await queue.enqueue([{ datasetId, candidates: [candidate(1), candidate(2)] }])
    await until(() => appended.length >= 2, 'appended after the retries')
    assert.equal(attempts, 3)
    assert.deepEqual(appended, [candidate(1).spanId, candidate(2).spanId])
  } finally {
    await queue.shutdown()
  }
})

test('a backlog larger than one produce request is sent in several', async () => {
  const names = isolated()
  const queue = createKafkaAppendQueue({
    brokers,
    partitions: 1,
    logger: silentLogger,
    clientId: 'test-big',
    ...names,
  })
  let count = 0
  queue.consume(async (_datasetId, candidates) => {
    count += candidates.length
  })
  await queue.start()
  try {
    // 5,000 candidates of ~1 KiB for one dataset (one partition): ~5 MiB, over the broker's 1 MiB batch limit.
    const big = Array.from({ length: 5_000 }, (_, i) => {
      const c = candidate(i)
      return { ...c, row: { ...c.row, inputs: { q: 'x'.repeat(1_000) } } }
    })
    await queue.enqueue([{ datasetId: randomUUID(), candidates: big }])
    await until(() => count >= 5_000, 'the whole backlog arrives', 60_000)
  } finally {
    await queue.shutdown()
  }
})
