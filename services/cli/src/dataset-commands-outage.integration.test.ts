import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { createKafkaAppendQueue, type KafkaAppendQueue } from '@spansift/bus/kafka-append-queue'
import type { DatasetWriter } from '@spansift/core/datasets/dataset-writer-port'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { silentLogger } from '@spansift/core/logger'
import { startOwnBroker, type TestBroker } from './test-kafka-broker.ts'

// Dataset commands across a broker outage: while the broker is down a command answers
// `unavailable` (the API's 503) within bounds (its send fails after the producer's few
// retries, or its reply deadline passes), never hanging and never a raw Kafka error (500);
// once the broker is back,
// commands reach the owner and their replies come back again, with no restart of either
// side (the sender's reply reader and the owner's consumer recover on their own).

const COMMAND_TIMEOUT_MS = 3_000
let broker: TestBroker
let sender: KafkaAppendQueue
let owner: KafkaAppendQueue
const deleted: string[] = []

before(async () => {
  broker = await startOwnBroker()
  const options = { brokers: [broker.brokers], partitions: 2, logger: silentLogger }
  sender = createKafkaAppendQueue({
    ...options,
    clientId: 'outage-api',
    sendsCommands: true,
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
  })
  // A short handover: a command's deadline (3 s) must outlast the owner's wait after it
  // gains its partitions, at start and when its consumer is rebuilt after the outage.
  owner = createKafkaAppendQueue({ ...options, clientId: 'outage-owner', handoverMs: 500 })
  owner.serveCommands({
    async deleteItem(_datasetId: string, itemId: string) {
      deleted.push(itemId)
    },
  } as unknown as DatasetWriter)
  await owner.start()
  await sender.start()
})

after(async () => {
  await sender?.shutdown()
  await owner?.shutdown()
  await broker?.destroy()
})

test('a command during a broker outage answers unavailable in bounded time; after it, commands work again', async () => {
  await sender.send({ op: 'deleteItem', datasetId: randomUUID(), itemId: 'before' })
  assert.deepEqual(deleted, ['before'])

  await broker.stop()
  const started = Date.now()
  await assert.rejects(
    sender.send({ op: 'deleteItem', datasetId: randomUUID(), itemId: 'during' }),
    (error) => {
      assert.ok(error instanceof SpansiftError, String(error))
      assert.equal(error.code, ErrorCode.unavailable)
      return true
    },
  )
  // The deadline, plus the producer's own bounded retries when the send itself fails.
  assert.ok(Date.now() - started < 20_000, `answered after ${Date.now() - started} ms`)

  await broker.start()
  // Bounded: the clients reconnect and the owner's group re-forms within a minute.
  const deadline = Date.now() + 60_000
  for (let attempt = 1; ; attempt++) {
    try {
      await sender.send({ op: 'deleteItem', datasetId: randomUUID(), itemId: `after-${attempt}` })
      break
    } catch (error) {
      assert.ok(error instanceof SpansiftError && error.code === ErrorCode.unavailable, String(error))
      assert.ok(Date.now() < deadline, 'commands did not work again within 60 s of the restart')
    }
  }
  assert.ok(deleted.at(-1)?.startsWith('after-'), JSON.stringify(deleted))
})
