import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Dataset } from '@spansift/core/datasets/dataset-model'
import { createDatasetOwnerKey } from './dataset-owner-key.ts'

const dataset = (id: string, excludeDatasetId: string | null): Dataset => ({
  id,
  groupId: 1,
  applicationId: 'app',
  name: id,
  kind: excludeDatasetId ? 'training' : 'eval',
  excludeDatasetId,
  columns: [],
  feedbackCategories: [],
  createdAt: '2026-01-01T00:00:00.000Z',
})

test('a training dataset is owned with the eval dataset it excludes; others by their id; found keys cached', async () => {
  const lookups: string[] = []
  const stored = new Map([
    ['eval', dataset('eval', null)],
    ['train', dataset('train', 'eval')],
  ])
  const ownerKey = createDatasetOwnerKey({
    getDataset: async (id) => {
      lookups.push(id)
      return stored.get(id)
    },
  })
  assert.equal(await ownerKey('train'), 'eval')
  assert.equal(await ownerKey('eval'), 'eval')
  assert.equal(await ownerKey('missing'), 'missing')
  assert.equal(await ownerKey('train'), 'eval')
  assert.equal(await ownerKey('missing'), 'missing')
  assert.deepEqual(lookups, ['train', 'eval', 'missing', 'missing'], 'found keys are looked up once')
})
