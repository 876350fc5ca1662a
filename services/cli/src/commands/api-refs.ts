import { isUuidRef } from '@spansift/core/rules/rule-schema'
import type { RuleTargetLookup, TargetApplication, TargetDataset } from '@spansift/core/rules/rule-targets'
import type { ApiClient } from './api-client.ts'
import { CliError } from './command.ts'

interface DatasetRefJson {
  id: string
  name: string
  application_id: string
  kind: 'eval' | 'training'
  exclude_dataset_id: string | null
  feedback_categories?: string[]
}

const toTarget = (d: DatasetRefJson): TargetDataset => ({
  id: d.id,
  name: d.name,
  applicationId: d.application_id,
  kind: d.kind,
  excludeDatasetId: d.exclude_dataset_id,
  feedbackCategories: d.feedback_categories ?? [],
})

/**
 * Rule targets looked up through the public API (the CLI's side of the lookup port the
 * rule worker implements over storage): a UUID is an id, anything else a name.
 */
export function createApiTargetLookup(client: ApiClient): RuleTargetLookup {
  return {
    async application(ref) {
      const found = await client.find<TargetApplication>(`/v1/applications/${encodeURIComponent(ref)}`)
      return found && { id: found.id, name: found.name }
    },
    async dataset(applicationId, ref) {
      if (isUuidRef(ref)) {
        const found = await client.find<DatasetRefJson>(
          `/v1/datasets/${encodeURIComponent(ref.toLowerCase())}`,
        )
        return found && toTarget(found)
      }
      const query = new URLSearchParams({ application_id: applicationId, name: ref })
      const body = await client.json<{ datasets: DatasetRefJson[] }>('GET', `/v1/datasets?${query}`)
      const found = body.datasets[0]
      return found && toTarget(found)
    },
  }
}

/** An application's id from its id or its name (an id is passed through unchecked). */
export async function resolveApplicationRef(client: ApiClient, ref: string): Promise<string> {
  if (isUuidRef(ref)) return ref.toLowerCase()
  const found = await createApiTargetLookup(client).application(ref)
  if (!found) throw new CliError(`no application "${ref}" (spansift applications list shows them)`)
  return found.id
}

/**
 * A dataset's id from its id or its name. A name is looked up in `application` when it
 * is given, else among the datasets the key sees; a name several applications use needs
 * `--application`.
 */
export async function resolveDatasetRef(
  client: ApiClient,
  ref: string,
  application: string | undefined,
): Promise<string> {
  if (isUuidRef(ref)) return ref.toLowerCase()
  const query = new URLSearchParams({ name: ref })
  if (application !== undefined) query.set('application_id', await resolveApplicationRef(client, application))
  const { datasets } = await client.json<{ datasets: DatasetRefJson[] }>('GET', `/v1/datasets?${query}`)
  if (datasets.length === 0) {
    throw new CliError(
      `no dataset "${ref}"${application === undefined ? '' : ` in application "${application}"`} (spansift datasets list shows them)`,
    )
  }
  if (datasets.length > 1) {
    throw new CliError(`several applications have a dataset "${ref}": pass --application NAME`)
  }
  return datasets[0]!.id
}
