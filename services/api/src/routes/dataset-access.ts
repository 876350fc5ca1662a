import type { DatasetsRepository } from '@spansift/clickhouse/datasets-repository'
import type { Principal } from '@spansift/core/authenticator'
import type { Dataset } from '@spansift/core/datasets/dataset-model'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { uuidSchema } from './dataset-schemas.ts'

/** True when the principal may act on the dataset: the admin on any, an application key on its own. */
export function canAccess(principal: Principal, dataset: Dataset): boolean {
  return principal.kind === 'admin' || principal.applicationId === dataset.applicationId
}

/**
 * The dataset a request names, if the principal may see it. Another application's
 * dataset answers exactly like a missing one (404), so existence does not leak.
 */
export async function loadDataset(
  datasets: DatasetsRepository,
  principal: Principal,
  rawId: string | undefined,
): Promise<Dataset> {
  const parsed = uuidSchema.safeParse(rawId)
  if (!parsed.success)
    throw new SpansiftError(ErrorCode.invalidArgument, `dataset id must be a UUID, got "${rawId}"`)
  const id = parsed.data
  const dataset = await datasets.get(id)
  if (!dataset || !canAccess(principal, dataset))
    throw new SpansiftError(ErrorCode.notFound, `no dataset ${id}`)
  return dataset
}
