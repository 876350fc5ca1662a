import type { ReviewQueue } from '@spansift/application/review-queue'
import type { ReviewClaim } from '@spansift/clickhouse/review-queue-repository'
import { currentVersion, itemToJson } from '@spansift/core/datasets/dataset-json'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { formatRfc3339Millis } from '@spansift/core/time'
import type { Hono } from 'hono'
import { z } from 'zod'
import type { ApiEnv } from '../auth-middleware.ts'
import { loadDataset } from './dataset-access.ts'
import type { DatasetRouteDependencies } from './dataset-route-dependencies.ts'
import { datasetItemSchema, uuidSchema } from './dataset-schemas.ts'

export const claimBody = z.strictObject({
  reviewer: z.string().min(1).max(100).meta({
    description:
      'Who claims: an id the client picks (one per browser tab). A reviewer’s own claims never block it.',
  }),
  lease_seconds: z.number().int().min(10).max(3600).default(300),
  exclude_item_ids: z
    .array(uuidSchema)
    .max(500)
    .optional()
    .meta({ description: 'Rows not to hand out (those the reviewer skipped).' }),
  item_id: uuidSchema.optional().meta({
    description: 'Claim this row instead of the next one (going back); 409 when another reviewer holds it.',
  }),
})

const claimSchema = z.object({
  claim_id: uuidSchema,
  item_id: uuidSchema,
  reviewer: z.string(),
  claimed_at: z.string(),
  expires_at: z.string(),
})

export const claimResponse = z.object({
  item: datasetItemSchema
    .nullable()
    .meta({ description: 'The row claimed; null when no unclaimed empty row is left.' }),
  claim: claimSchema.nullable(),
  remaining: z.number().int().meta({ description: 'Empty rows of the current version.' }),
  claimed_by_others: z.number().int().meta({ description: 'Of those, rows other reviewers hold.' }),
})

const claimToJson = (claim: ReviewClaim) => ({
  claim_id: claim.claimId,
  item_id: claim.itemId,
  reviewer: claim.reviewer,
  claimed_at: formatRfc3339Millis(claim.claimedAt),
  expires_at: formatRfc3339Millis(claim.expiresAt),
})

/**
 * The review queue's reservations: `POST /v1/datasets/{id}/queue/claim` hands out the next
 * empty row of the current version that no other reviewer holds, under a lease;
 * `DELETE /v1/datasets/{id}/queue/claims/{claim_id}` gives it back early.
 */
export function registerReviewQueueRoutes(
  v1: Hono<ApiEnv>,
  deps: DatasetRouteDependencies & { reviewQueue: ReviewQueue },
): void {
  v1.post('/datasets/:id/queue/claim', async (c) => {
    const dataset = await loadDataset(deps.datasets, c.get('principal'), c.req.param('id'))
    const body = claimBody.parse(await c.req.json())
    const version = currentVersion(await deps.datasetVersions.list(dataset.id))
    if (!version) return c.json({ item: null, claim: null, remaining: 0, claimed_by_others: 0 })
    const result = await deps.reviewQueue.claim({
      datasetId: dataset.id,
      versionId: version.versionId,
      reviewer: body.reviewer,
      leaseMs: body.lease_seconds * 1000,
      exclude: body.exclude_item_ids ?? [],
      ...(body.item_id ? { itemId: body.item_id } : {}),
    })
    const item = result.claim
      ? await deps.datasetItems.get(dataset.id, version.versionId, result.claim.itemId)
      : undefined
    if (result.claim && !item) {
      // Deleted between the claim and the read: give the claim back and say so.
      await deps.reviewQueue.release(dataset.id, result.claim.claimId)
      throw new SpansiftError(ErrorCode.conflict, 'the row was deleted while being claimed; claim again')
    }
    return c.json({
      item: item ? itemToJson(item) : null,
      claim: result.claim ? claimToJson(result.claim) : null,
      remaining: result.remaining,
      claimed_by_others: result.claimedByOthers,
    })
  })

  v1.delete('/datasets/:id/queue/claims/:claim_id', async (c) => {
    const dataset = await loadDataset(deps.datasets, c.get('principal'), c.req.param('id'))
    const claimId = uuidSchema.safeParse(c.req.param('claim_id'))
    if (!claimId.success) throw new SpansiftError(ErrorCode.invalidArgument, 'claim id must be a UUID')
    await deps.reviewQueue.release(dataset.id, claimId.data)
    return c.body(null, 204)
  })
}
