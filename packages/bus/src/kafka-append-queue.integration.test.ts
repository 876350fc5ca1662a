import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import type { AppendCandidate } from '@spansift/core/datasets/append-candidate'
import type { Dataset, DatasetItem } from '@spansift/core/datasets/dataset-model'
import type { DatasetWriter } from '@spansift/core/datasets/dataset-writer-port'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { silentLogger } from '@spansift/core/logger'
import { createKafkaAppendQueue } from './kafka-append-queue.ts'
import { kafkaTestBrokers } from './test-kafka-broker.ts'

// The distributed append path on the real broker: what rule workers enqueue reaches the
// appender intact, each dataset's candidates in order through one partition, and a
// failing appender gets the same candidates again (nothing is committed before it succeeds).
// Commands (every other change to a dataset) reach the owner and their replies come back
// to the sender: results intact, errors with their code, and no owner means `unavailable`
// at the deadline, the late command then skipped.

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
  return {
    topic: `test.appends.${suffix}`,
    repliesTopic: `test.replies.${suffix}`,
    group: `test-appender-${suffix}`,
  }
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

/** A writer that records what it ran, in order; `patchItem` answers an item (with its int64), `publish` refuses. */
function recordingWriter(log: string[]): DatasetWriter {
  const item = (datasetId: string, itemId: string): DatasetItem => ({
    datasetId,
    versionId: 7,
    itemId,
    source: {
      applicationId: candidate(1).applicationId,
      traceId: candidate(1).traceId,
      spanId: candidate(1).spanId,
      spanStartUnixNano: 1_763_805_600_123_456_789n,
      kind: 'api',
      ruleId: null,
    },
    inputs: { q: 'x' },
    expected_outputs: {},
    metadata: {},
    extras: {},
    inputsHash: 'h',
    redactedFields: [],
    annotation: 'fine',
    annotationStatus: 'filled',
    feedbackCategory: null,
    expectedOutput: null,
    priority: null,
    labels: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000000Z',
  })
  return {
    async create() {
      throw new Error('not used')
    },
    async append(datasetId, candidates, options) {
      log.push(`append ${candidates.map((c) => c.spanId).join(',')} upToCap=${options?.upToCap ?? false}`)
      return {
        datasetId,
        versionId: 7,
        items: candidates.map((c) => ({
          traceId: c.traceId,
          spanId: c.spanId,
          itemId: c.spanId,
          added: true,
        })),
        excluded: [],
        warnings: [],
        purgedFromTraining: 0,
        droppedForCap: 0,
      }
    },
    async patchDataset(datasetId, patch) {
      log.push(`patch dataset ${patch.feedbackCategories?.join(',')}`)
      return {
        id: datasetId,
        groupId: 3,
        applicationId: candidate(1).applicationId,
        name: 'support-eval',
        kind: 'eval',
        excludeDatasetId: null,
        columns: [],
        feedbackCategories: patch.feedbackCategories ?? [],
        createdAt: '2026-01-01T00:00:00.000Z',
      }
    },
    async patchItem(datasetId, itemId, patch) {
      log.push(`patch ${itemId} ${patch.annotation}`)
      return item(datasetId, itemId)
    },
    async deleteItem(_datasetId, itemId) {
      log.push(`delete ${itemId}`)
    },
    async publish() {
      log.push('publish')
      throw new SpansiftError(ErrorCode.conflict, 'the draft is empty', { draft: 7 })
    },
    async deleteDataset() {
      log.push('delete dataset')
    },
  }
}

test('commands reach the owner in order with rule matches, and its results and errors come back', async () => {
  const names = isolated()
  const options = { brokers, partitions: 3, logger: silentLogger, ...names }
  const api = createKafkaAppendQueue({ ...options, clientId: 'test-api', sendsCommands: true })
  const owner = createKafkaAppendQueue({ ...options, clientId: 'test-owner' })
  const log: string[] = []
  owner.serveCommands(recordingWriter(log))
  await owner.start()
  await api.start()
  try {
    const datasetId = randomUUID()
    const appended = await api.send({ op: 'append', datasetId, candidates: [candidate(1), candidate(2)] })
    assert.deepEqual((appended as { items: unknown[] }).items.length, 2)
    const patched = (await api.send({
      op: 'patchItem',
      datasetId,
      itemId: 'item-1',
      patch: { annotation: 'fine' },
    })) as DatasetItem
    assert.equal(patched.source.spanStartUnixNano, 1_763_805_600_123_456_789n, 'the int64 survives the trip')
    const changed = (await api.send({
      op: 'patchDataset',
      datasetId,
      patch: { feedbackCategories: ['wrong', 'unsafe'] },
    })) as Dataset
    assert.deepEqual(changed.feedbackCategories, ['wrong', 'unsafe'], "the owner's dataset comes back")
    await api.enqueue([{ datasetId, candidates: [candidate(3)] }])
    await assert.rejects(api.send({ op: 'publish', datasetId }), (error) => {
      assert.ok(error instanceof SpansiftError)
      assert.equal(error.code, ErrorCode.conflict)
      assert.equal(error.message, 'the draft is empty')
      assert.deepEqual(error.details, { draft: 7 })
      return true
    })
    await api.send({ op: 'deleteItem', datasetId, itemId: 'item-1' })
    assert.deepEqual(log, [
      `append ${candidate(1).spanId},${candidate(2).spanId} upToCap=false`,
      'patch item-1 fine',
      'patch dataset wrong,unsafe',
      `append ${candidate(3).spanId} upToCap=true`,
      'publish',
      'delete item-1',
    ])
  } finally {
    await api.shutdown()
    await owner.shutdown()
  }
})

test('without an owner a command ends at its deadline as unavailable; an owner arriving later skips it', async () => {
  const names = isolated()
  const options = { brokers, partitions: 1, logger: silentLogger, ...names }
  const api = createKafkaAppendQueue({
    ...options,
    clientId: 'test-api',
    sendsCommands: true,
    commandTimeoutMs: 1_500,
  })
  await api.start()
  const log: string[] = []
  // A short handover: the second command's deadline (1.5 s) must outlast the owner's start.
  const owner = createKafkaAppendQueue({ ...options, clientId: 'test-late-owner', handoverMs: 200 })
  owner.serveCommands(recordingWriter(log))
  try {
    const started = Date.now()
    await assert.rejects(api.send({ op: 'deleteItem', datasetId: randomUUID(), itemId: 'late' }), (error) => {
      assert.ok(error instanceof SpansiftError)
      assert.equal(error.code, ErrorCode.unavailable)
      return true
    })
    assert.ok(Date.now() - started < 5_000, 'the sender gave up at its deadline')
    await owner.start()
    // The owner reads the expired command, then this one: it runs only the latter.
    await api.send({ op: 'deleteItem', datasetId: randomUUID(), itemId: 'fresh' })
    assert.deepEqual(log, ['delete fresh'])
  } finally {
    await api.shutdown()
    await owner.shutdown()
  }
})
