import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import type { Storage } from '@spansift/clickhouse/storage'
import { tableNames } from '@spansift/clickhouse/tables'
import { openTestStorage } from '@spansift/clickhouse/test-storage'
import type { AppendCandidate } from '@spansift/core/datasets/append-candidate'
import { silentLogger } from '@spansift/core/logger'
import { createDatasetWriter } from './dataset-writer.ts'

// An appender that lost its dataset's partition passes an aborted signal: the writer may
// read, but starts no write, so the partition's new owner is the only one writing.

let storage: Storage
before(async () => {
  storage = await openTestStorage('dataset-writer-signal')
})
after(async () => {
  await storage?.close()
})

function candidate(applicationId: string, question: string): AppendCandidate {
  return {
    applicationId,
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    spanStartUnixNano: BigInt(Date.now()) * 1_000_000n,
    sourceKind: 'rule',
    ruleId: 'r',
    row: { inputs: { question }, expected_outputs: {}, metadata: {}, extras: {} },
    inputsHash: question,
  }
}

test('an append whose signal has aborted writes nothing and rejects with the reason; without it, it writes', async () => {
  const writer = createDatasetWriter({
    datasets: storage.datasets,
    versions: storage.datasetVersions,
    items: storage.datasetItems,
    logger: silentLogger,
  })
  const applicationId = randomUUID()
  const dataset = await writer.create({ name: 'owned', applicationId, kind: 'eval', excludeDatasetId: null })
  const lost = new AbortController()
  lost.abort(new Error('the partition moved to another member'))
  await assert.rejects(
    writer.append(dataset.id, [candidate(applicationId, 'a'), candidate(applicationId, 'b')], {
      upToCap: true,
      signal: lost.signal,
    }),
    /the partition moved to another member/,
  )
  const [stored] = await storage.runner.select<{ rows: string }>(
    'test',
    `SELECT count() AS rows FROM ${tableNames(storage.runner.database).datasetItems} WHERE dataset_id = {id:UUID}`,
    { id: dataset.id },
  )
  assert.equal(Number(stored!.rows), 0, 'nothing was written')
  const result = await writer.append(dataset.id, [candidate(applicationId, 'c')], { upToCap: true })
  assert.equal(result.items.length, 1)
})
