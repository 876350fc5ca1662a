import type { ApplicationsRepository } from '@spansift/clickhouse/applications-repository'
import type { DatasetsRepository } from '@spansift/clickhouse/datasets-repository'
import type { Dataset } from '@spansift/core/datasets/dataset-model'
import { isUuidRef } from '@spansift/core/rules/rule-schema'
import type { RuleTargetLookup, TargetDataset } from '@spansift/core/rules/rule-targets'

const toTarget = (d: Dataset): TargetDataset => ({
  id: d.id,
  name: d.name,
  applicationId: d.applicationId,
  kind: d.kind,
  excludeDatasetId: d.excludeDatasetId,
  feedbackCategories: d.feedbackCategories,
})

/**
 * Rule targets looked up in storage (the rule worker's side of the lookup port; the
 * CLI's side asks the public API): a UUID is an id, anything else a name.
 */
export function createStorageTargetLookup(stores: {
  applications: Pick<ApplicationsRepository, 'get' | 'getByName'>
  datasets: Pick<DatasetsRepository, 'get' | 'findByName'>
}): RuleTargetLookup {
  return {
    async application(ref) {
      const found = isUuidRef(ref)
        ? await stores.applications.get(ref.toLowerCase())
        : await stores.applications.getByName(ref)
      return found && { id: found.id, name: found.name }
    },
    async dataset(applicationId, ref) {
      const found = isUuidRef(ref)
        ? await stores.datasets.get(ref.toLowerCase())
        : await stores.datasets.findByName(applicationId, ref)
      return found && toTarget(found)
    },
  }
}
