import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SpansiftError } from '../error-codes.ts'
import type { Dataset } from './dataset-model.ts'
import { assertValidExclusion } from './exclusion.ts'
import { createMonotonicClock } from './monotonic-clock.ts'

test('the row-version clock never repeats or goes back, with microseconds', () => {
  let now = 1_700_000_000_123
  const clock = createMonotonicClock(() => now)
  const a = clock()
  const b = clock()
  now -= 5_000 // the wall clock steps back
  const c = clock()
  assert.equal(a, '2023-11-14T22:13:20.123000Z')
  assert.equal(b, '2023-11-14T22:13:20.123001Z')
  assert.equal(c, '2023-11-14T22:13:20.123002Z')
})

const evalSet: Dataset = {
  id: 'e',
  groupId: 1,
  applicationId: 'app',
  name: 'eval',
  kind: 'eval',
  excludeDatasetId: null,
  columns: [],
  feedbackCategories: [],
  createdAt: '2026-01-01T00:00:00.000Z',
}
const refused = (e: unknown) => e instanceof SpansiftError && e.code === 'invalid_argument'

test('only a training dataset excludes, and only an eval dataset of its application', () => {
  assertValidExclusion({ kind: 'training', applicationId: 'app', excludeDatasetId: 'e' }, evalSet)
  assertValidExclusion({ kind: 'eval', applicationId: 'app', excludeDatasetId: null }, undefined)
  assert.throws(
    () => assertValidExclusion({ kind: 'eval', applicationId: 'app', excludeDatasetId: 'e' }, evalSet),
    refused,
  )
  assert.throws(
    () => assertValidExclusion({ kind: 'training', applicationId: 'other', excludeDatasetId: 'e' }, evalSet),
    refused,
  )
  assert.throws(
    () => assertValidExclusion({ kind: 'training', applicationId: 'app', excludeDatasetId: 'x' }, undefined),
    refused,
  )
  assert.throws(
    () =>
      assertValidExclusion(
        { kind: 'training', applicationId: 'app', excludeDatasetId: 'e' },
        { ...evalSet, kind: 'training' },
      ),
    /must name an eval dataset/,
  )
})
