import { clickhouseTimeToRfc3339 } from './dataset-time.ts'
import type { QueryRunner } from './query-runner.ts'
import { tableNames } from './tables.ts'

/** A reviewer's hold on one row of the review queue, until `expiresAt` or its release. */
export interface ReviewClaim {
  claimId: string
  datasetId: string
  itemId: string
  /** Who holds it: an opaque id the client chooses (one per browser tab). */
  reviewer: string
  /** RFC 3339, set by the ClickHouse server when the claim is stored (it orders rival claims). */
  claimedAt: string
  expiresAt: string
}

export interface ReviewQueueRepository {
  /**
   * The first empty row of the version, in (created_at, item_id) order, that no live claim
   * of another reviewer holds and that is not in `exclude`.
   */
  nextUnclaimed(
    datasetId: string,
    versionId: number,
    reviewer: string,
    exclude: readonly string[],
  ): Promise<string | undefined>
  /** Empty rows of the version, and those of them held by other reviewers' live claims. */
  counts(
    datasetId: string,
    versionId: number,
    reviewer: string,
  ): Promise<{ empty: number; claimedByOthers: number }>
  /** Stores a claim; the server stamps its claimed_at. */
  insert(claim: {
    claimId: string
    datasetId: string
    itemId: string
    reviewer: string
    leaseMs: number
  }): Promise<void>
  /** The live claims of one row, oldest first (the first is the row's holder). */
  liveClaims(datasetId: string, itemId: string): Promise<ReviewClaim[]>
  get(datasetId: string, claimId: string): Promise<ReviewClaim | undefined>
  /** Ends a claim now (a released claim is never live again). */
  release(claim: ReviewClaim): Promise<void>
}

interface ClaimRow {
  claim_id: string
  dataset_id: string
  item_id: string
  reviewer: string
  claimed_at: string
  expires_at: string
}

const toClaim = (row: ClaimRow): ReviewClaim => ({
  claimId: row.claim_id,
  datasetId: row.dataset_id,
  itemId: row.item_id,
  reviewer: row.reviewer,
  claimedAt: clickhouseTimeToRfc3339(row.claimed_at),
  expiresAt: clickhouseTimeToRfc3339(row.expires_at),
})

const LIVE = 'released = 0 AND expires_at > now64(3)'
const CLAIM_COLUMNS = 'claim_id, dataset_id, item_id, reviewer, claimed_at, expires_at'

/**
 * The review queue's reads and the `review_claims` table. A claim is a row keyed by
 * (dataset, item, claim id); a release is a later version of it (ReplacingMergeTree on
 * updated_at) with `released = 1`; expired claims simply stop being live, and the TTL
 * drops them a day later.
 */
export function createReviewQueueRepository(runner: QueryRunner): ReviewQueueRepository {
  const { reviewClaims, datasetItems } = tableNames(runner.database)
  const othersLive = `SELECT item_id FROM ${reviewClaims} FINAL
      WHERE dataset_id = {dataset_id:UUID} AND ${LIVE} AND reviewer != {reviewer:String}`
  return {
    async nextUnclaimed(datasetId, versionId, reviewer, exclude) {
      const [row] = await runner.select<{ item_id: string }>(
        'review-queue.next',
        `SELECT item_id FROM ${datasetItems} FINAL
         WHERE dataset_id = {dataset_id:UUID} AND version_id = {version_id:UInt64}
           AND annotation_status = 'empty'
           AND item_id NOT IN (${othersLive})
           AND item_id NOT IN {exclude:Array(UUID)}
         ORDER BY created_at, item_id LIMIT 1`,
        { dataset_id: datasetId, version_id: versionId, reviewer, exclude },
      )
      return row?.item_id
    },
    async counts(datasetId, versionId, reviewer) {
      const [row] = await runner.select<{ empty: string; claimed: string }>(
        'review-queue.counts',
        `SELECT count() AS empty, countIf(item_id IN (${othersLive})) AS claimed
         FROM ${datasetItems} FINAL
         WHERE dataset_id = {dataset_id:UUID} AND version_id = {version_id:UInt64} AND annotation_status = 'empty'`,
        { dataset_id: datasetId, version_id: versionId, reviewer },
      )
      return { empty: Number(row?.empty ?? 0), claimedByOthers: Number(row?.claimed ?? 0) }
    },
    async insert(claim) {
      await runner.command(
        'review-queue.claim',
        `INSERT INTO ${reviewClaims} (claim_id, dataset_id, item_id, reviewer, claimed_at, expires_at, released)
         SELECT {claim_id:UUID}, {dataset_id:UUID}, {item_id:UUID}, {reviewer:String}, now64(9),
           now64(3) + toIntervalMillisecond({lease_ms:UInt32}), 0`,
        {
          claim_id: claim.claimId,
          dataset_id: claim.datasetId,
          item_id: claim.itemId,
          reviewer: claim.reviewer,
          lease_ms: claim.leaseMs,
        },
      )
    },
    async liveClaims(datasetId, itemId) {
      const rows = await runner.select<ClaimRow>(
        'review-queue.live-claims',
        `SELECT ${CLAIM_COLUMNS} FROM ${reviewClaims} FINAL
         WHERE dataset_id = {dataset_id:UUID} AND item_id = {item_id:UUID} AND ${LIVE}
         ORDER BY claimed_at, claim_id`,
        { dataset_id: datasetId, item_id: itemId },
      )
      return rows.map(toClaim)
    },
    async get(datasetId, claimId) {
      const [row] = await runner.select<ClaimRow>(
        'review-queue.get-claim',
        `SELECT ${CLAIM_COLUMNS} FROM ${reviewClaims} FINAL
         WHERE dataset_id = {dataset_id:UUID} AND claim_id = {claim_id:UUID} AND ${LIVE}`,
        { dataset_id: datasetId, claim_id: claimId },
      )
      return row ? toClaim(row) : undefined
    },
    async release(claim) {
      await runner.command(
        'review-queue.release',
        `INSERT INTO ${reviewClaims} (claim_id, dataset_id, item_id, reviewer, claimed_at, expires_at, released)
         SELECT {claim_id:UUID}, {dataset_id:UUID}, {item_id:UUID}, {reviewer:String},
           parseDateTime64BestEffort({claimed_at:String}, 9, 'UTC'), now64(3), 1`,
        {
          claim_id: claim.claimId,
          dataset_id: claim.datasetId,
          item_id: claim.itemId,
          reviewer: claim.reviewer,
          claimed_at: claim.claimedAt,
        },
      )
    },
  }
}
