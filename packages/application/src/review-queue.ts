import { randomUUID } from 'node:crypto'
import type { ReviewClaim, ReviewQueueRepository } from '@spansift/clickhouse/review-queue-repository'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { createKeyedMutex } from './dataset-mutex.ts'

/** A claim's outcome: the row held (undefined when no unclaimed empty row is left) and the queue's size. */
export interface ClaimResult {
  claim: ReviewClaim | undefined
  /** Empty rows of the version (the claimed one included). */
  remaining: number
  /** Of those, rows other reviewers hold. */
  claimedByOthers: number
}

export interface ClaimRequest {
  datasetId: string
  versionId: number
  reviewer: string
  leaseMs: number
  /** Rows not to hand out (those the reviewer skipped). */
  exclude?: readonly string[]
  /** Claim this row rather than the next one (going back to a row). */
  itemId?: string
}

export interface ReviewQueue {
  claim(request: ClaimRequest): Promise<ClaimResult>
  /** Ends a claim; releasing a claim that expired or was released already is a no-op. */
  release(datasetId: string, claimId: string): Promise<void>
}

/** Rival claims lost in a row before a claim gives up (each loss excludes the row lost). */
const MAX_ATTEMPTS = 8

/**
 * Hands out review-queue rows one at a time, each under a lease, so two reviewers never
 * get the same row.
 *
 * Claims of one dataset are serialized in this process (a keyed mutex). Across API
 * processes, ClickHouse has no compare-and-set, so a claim is stored first and then
 * checked: the row's holder is its oldest live claim, ordered by the claimed_at the
 * ClickHouse server stamps on insert. A process that finds an older rival claim withdraws
 * its own and tries the next row. With one ClickHouse server (or the embedded engine) the
 * order is total, so of two racing claims exactly one wins. Limit: on a replicated cluster
 * the check reads one replica and the stamps come from different servers, so two claims
 * racing within replication lag can both win; the later PATCH then simply overwrites
 * (last write wins), nothing is lost or duplicated.
 */
export function createReviewQueue(options: { repository: ReviewQueueRepository }): ReviewQueue {
  const { repository } = options
  const mutex = createKeyedMutex()

  async function tryHold(request: ClaimRequest, itemId: string): Promise<ReviewClaim | undefined> {
    const claimId = randomUUID()
    await repository.insert({
      claimId,
      datasetId: request.datasetId,
      itemId,
      reviewer: request.reviewer,
      leaseMs: request.leaseMs,
    })
    const live = await repository.liveClaims(request.datasetId, itemId)
    const holder = live.find((c) => c.reviewer !== request.reviewer || c.claimId === claimId)
    const mine = live.find((c) => c.claimId === claimId)
    if (mine && holder?.claimId === claimId) {
      // The reviewer's older claims of the row are superseded by this one.
      for (const old of live)
        if (old.reviewer === request.reviewer && old.claimId !== claimId) await repository.release(old)
      return mine
    }
    if (mine) await repository.release(mine)
    return undefined
  }

  return {
    claim: (request) =>
      mutex.run(request.datasetId, async () => {
        const exclude = [...(request.exclude ?? [])]
        let claim: ReviewClaim | undefined
        if (request.itemId !== undefined) {
          claim = await tryHold(request, request.itemId)
          if (!claim)
            throw new SpansiftError(
              ErrorCode.conflict,
              `row ${request.itemId} is claimed by another reviewer`,
            )
        } else {
          for (let attempt = 0; attempt < MAX_ATTEMPTS && !claim; attempt++) {
            const itemId = await repository.nextUnclaimed(
              request.datasetId,
              request.versionId,
              request.reviewer,
              exclude,
            )
            if (itemId === undefined) break
            claim = await tryHold(request, itemId)
            if (!claim) exclude.push(itemId)
          }
        }
        const counts = await repository.counts(request.datasetId, request.versionId, request.reviewer)
        return { claim, remaining: counts.empty, claimedByOthers: counts.claimedByOthers }
      }),
    async release(datasetId, claimId) {
      const claim = await repository.get(datasetId, claimId)
      if (claim) await repository.release(claim)
    },
  }
}
