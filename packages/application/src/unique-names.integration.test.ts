import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import type { Storage } from '@spansift/clickhouse/storage'
import { openTestStorage } from '@spansift/clickhouse/test-storage'
import { SpansiftError } from '@spansift/core/error-codes'
import { silentLogger } from '@spansift/core/logger'
import { createDatasetWriter } from './dataset-writer.ts'

// Dataset names are unique within an application even across processes: two dataset
// writers (one per API process, each serializing only its own creates) over one storage
// race to create the same names. At most one create of a name succeeds, and a loser
// leaves no dataset behind.

let storage: Storage
before(async () => {
  storage = await openTestStorage('unique-names')
})
after(async () => {
  await storage?.close()
})

test('two writers racing on one new dataset name: never two datasets of that name', async (t) => {
  const writers = [0, 1].map(() =>
    createDatasetWriter({
      datasets: storage.datasets,
      versions: storage.datasetVersions,
      items: storage.datasetItems,
      logger: silentLogger,
    }),
  )
  const applicationId = randomUUID()
  let bothFailed = 0
  for (let round = 0; round < 20; round++) {
    const name = `contested-${round}`
    const outcomes = await Promise.allSettled(
      writers.map((writer) => writer.create({ name, applicationId, kind: 'eval', excludeDatasetId: null })),
    )
    const created = outcomes.filter((o) => o.status === 'fulfilled')
    for (const o of outcomes) {
      if (o.status === 'rejected') {
        assert.ok(o.reason instanceof SpansiftError, String(o.reason))
        assert.equal((o.reason as SpansiftError).code, 'conflict')
      }
    }
    assert.ok(created.length <= 1, `round ${round}: ${created.length} creates of "${name}" succeeded`)
    if (created.length === 0) bothFailed++
    const stored = (await storage.datasets.list(applicationId)).filter((d) => d.name === name)
    assert.equal(stored.length, created.length, `round ${round}: stored datasets named "${name}"`)
  }
  // Both withdrawing is allowed, but each create tries again after a jittered wait, so it
  // must stay the exception.
  t.diagnostic(`rounds where both creates withdrew, after their retries: ${bothFailed} of 20`)
  assert.ok(bothFailed < 20, 'some round had a winner')
})
