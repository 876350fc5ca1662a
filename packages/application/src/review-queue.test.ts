import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReviewClaim, ReviewQueueRepository } from '@spansift/clickhouse/review-queue-repository'
import { createReviewQueue } from './review-queue.ts'

/**
 * An in-memory review_claims with the server's behaviour that matters: claimed_at is
 * stamped at insert from one clock, so insert order is claim order. `beforeCheck` lets a
 * test slip a rival's insert between a claim's insert and its check, as another process would.
 */
function fakeRepository(items: string[]) {
  let clock = 0
  const claims: Array<ReviewClaim & { released: boolean }> = []
  const live = () => claims.filter((c) => !c.released)
  const hooks = { beforeCheck: async () => {} }
  const repository: ReviewQueueRepository = {
    async nextUnclaimed(_d, _v, reviewer, exclude) {
      const held = new Set(
        live()
          .filter((c) => c.reviewer !== reviewer)
          .map((c) => c.itemId),
      )
      return items.find((i) => !held.has(i) && !exclude.includes(i))
    },
    async counts(_d, _v, reviewer) {
      const held = new Set(
        live()
          .filter((c) => c.reviewer !== reviewer)
          .map((c) => c.itemId),
      )
      return { empty: items.length, claimedByOthers: items.filter((i) => held.has(i)).length }
    },
    async insert(claim) {
      claims.push({
        ...claim,
        claimedAt: String(++clock).padStart(6, '0'),
        expiresAt: 'later',
        released: false,
      })
    },
    async liveClaims(_d, itemId) {
      await hooks.beforeCheck()
      return live()
        .filter((c) => c.itemId === itemId)
        .sort((a, b) => a.claimedAt.localeCompare(b.claimedAt))
    },
    async get(_d, claimId) {
      return live().find((c) => c.claimId === claimId)
    },
    async release(claim) {
      for (const c of claims) if (c.claimId === claim.claimId) c.released = true
    },
  }
  return { repository, claims, hooks }
}

const request = (reviewer: string) => ({ datasetId: 'd', versionId: 1, reviewer, leaseMs: 60_000 })

test('a claim that finds an older rival claim on its row withdraws and takes the next row', async () => {
  const { repository, claims, hooks } = fakeRepository(['row-1', 'row-2'])
  const queue = createReviewQueue({ repository })
  // Another process claims row-1 first, between our insert and our check... but its stamp is older.
  let rivalDone = false
  hooks.beforeCheck = async () => {
    if (rivalDone) return
    rivalDone = true
    const ours = claims.pop()!
    claims.push({ ...ours, claimId: 'rival', reviewer: 'other', claimedAt: '000000' }, ours)
  }
  const result = await queue.claim(request('me'))
  assert.equal(result.claim?.itemId, 'row-2')
  assert.deepEqual(
    claims.filter((c) => !c.released).map((c) => [c.reviewer, c.itemId]),
    [
      ['other', 'row-1'],
      ['me', 'row-2'],
    ],
    'the losing claim on row-1 was withdrawn',
  )
  assert.deepEqual([result.remaining, result.claimedByOthers], [2, 1])
})

test('a reviewer claiming again keeps its row; asking for a row another holds is a conflict', async () => {
  const { repository, claims } = fakeRepository(['row-1', 'row-2'])
  const queue = createReviewQueue({ repository })
  const first = await queue.claim(request('me'))
  const again = await queue.claim(request('me'))
  assert.equal(again.claim?.itemId, first.claim?.itemId)
  assert.equal(
    claims.filter((c) => !c.released).length,
    1,
    'the older claim of the same reviewer is superseded',
  )
  await assert.rejects(queue.claim({ ...request('you'), itemId: 'row-1' }), /claimed by another reviewer/)
  assert.equal((await queue.claim(request('you'))).claim?.itemId, 'row-2')
  assert.equal((await queue.claim(request('third'))).claim, undefined)
  await queue.release('d', again.claim!.claimId)
  assert.equal((await queue.claim(request('third'))).claim?.itemId, 'row-1')
})

test('concurrent claims in one process get distinct rows', async () => {
  const { repository } = fakeRepository(['a', 'b', 'c'])
  const queue = createReviewQueue({ repository })
  const results = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((r) => queue.claim(request(r))))
  const held = results.map((r) => r.claim?.itemId).filter(Boolean)
  assert.deepEqual(held.sort(), ['a', 'b', 'c'])
})
