import type { Dataset } from '@spansift/core/datasets/dataset-model'

export interface DatasetOwnerKeyOptions {
  /** Looks a dataset up (the datasets repository's `get`). */
  getDataset(id: string): Promise<Dataset | undefined>
}

/**
 * The key a dataset's changes are routed by, which picks the process that owns it. A
 * training dataset that excludes an eval dataset is owned with it: the eval dataset's
 * owner purges newly overlapping training rows, and that purge must take the same locks
 * as the training dataset's own appends. Any other dataset is keyed by its id. Exclusion
 * never changes after creation, so a found dataset's key is cached for good; a dataset
 * not found is keyed by its id, uncached (its owner answers "not found").
 */
export function createDatasetOwnerKey(
  options: DatasetOwnerKeyOptions,
): (datasetId: string) => Promise<string> {
  const known = new Map<string, string>()
  return async (datasetId) => {
    const cached = known.get(datasetId)
    if (cached) return cached
    const dataset = await options.getDataset(datasetId)
    if (!dataset) return datasetId
    const key =
      dataset.kind === 'training' && dataset.excludeDatasetId ? dataset.excludeDatasetId : dataset.id
    known.set(datasetId, key)
    return key
  }
}
