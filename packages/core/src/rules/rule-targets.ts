import { feedbackCategoryProblem } from '../datasets/feedback-categories.ts'
import type { DatasetDeclaration, RuleFileError } from './rule-file.ts'
import { isUuidRef, type Rule } from './rule-schema.ts'

/** An application as name resolution needs it. */
export interface TargetApplication {
  id: string
  name: string
}

/** A dataset as name resolution and planning need it. */
export interface TargetDataset {
  id: string
  name: string
  applicationId: string
  kind: 'eval' | 'training'
  excludeDatasetId: string | null
  /** Its feedback categories (empty or absent: any), which a rule's default category must be one of. */
  feedbackCategories?: readonly string[]
}

/**
 * Where names are looked up (a port): storage in the rule worker, the public API in
 * the CLI (`rules validate --server`, `rules plan`, `rules apply`). One resolver uses
 * both, so the worker and the CLI agree on what a name means.
 */
export interface RuleTargetLookup {
  /** The application with this id (when `ref` is a UUID) or this name. */
  application(ref: string): Promise<TargetApplication | undefined>
  /** The dataset with this id (whatever its application), else the one of this name in the application. */
  dataset(applicationId: string, ref: string): Promise<TargetDataset | undefined>
}

/** A rule's target once looked up. */
export type RuleTargetResolution =
  | { status: 'resolved'; applicationId: string; datasetId: string }
  /** The dataset does not exist yet but a rule file declares it: `rules apply` creates it. */
  | { status: 'declared'; applicationId: string; declaration: DatasetDeclaration; problem: string }
  /** `key`: which of the two did not resolve. */
  | { status: 'unresolved'; key: 'application' | 'dataset'; problem: string }

const label = (ref: string) => (isUuidRef(ref) ? ref.toLowerCase() : `"${ref}"`)

/**
 * Resolves a rule's application and dataset, each written as a UUID or a name (a
 * dataset name is unique within its application). `declared` are the datasets the rule
 * files declare: a missing dataset that is declared is `declared`, not unknown.
 */
export async function resolveRuleTarget(
  rule: Pick<Rule, 'target'> & { defaults?: Pick<Rule['defaults'], 'feedbackCategory'> },
  lookup: RuleTargetLookup,
  declared: readonly DatasetDeclaration[] = [],
): Promise<RuleTargetResolution> {
  const { application: appRef, dataset: datasetRef } = rule.target
  const application = await lookup.application(appRef)
  if (!application) {
    return { status: 'unresolved', key: 'application', problem: `no application ${label(appRef)}` }
  }
  const dataset = await lookup.dataset(application.id, datasetRef)
  if (dataset) {
    if (dataset.applicationId !== application.id) {
      return {
        status: 'unresolved',
        key: 'dataset',
        problem: `dataset ${label(datasetRef)} belongs to another application than ${label(appRef)}`,
      }
    }
    // Rows would carry a category the dataset's reviewers cannot keep: the rule waits, in
    // error, until the file or the dataset's list changes (targets are re-checked).
    const category = feedbackCategoryProblem(
      dataset.feedbackCategories ?? [],
      rule.defaults?.feedbackCategory,
      `dataset ${label(datasetRef)}'s`,
    )
    if (category) return { status: 'unresolved', key: 'dataset', problem: `defaults: ${category}` }
    return { status: 'resolved', applicationId: application.id, datasetId: dataset.id }
  }
  const declaration = isUuidRef(datasetRef)
    ? undefined
    : declared.find(
        (d) => d.name === datasetRef && (d.application === appRef || d.application === application.id),
      )
  if (declaration) {
    return {
      status: 'declared',
      applicationId: application.id,
      declaration,
      problem: `no dataset "${datasetRef}" in application ${label(appRef)} yet; it is declared at ${declaration.origin.file}:${declaration.origin.line}: run spansift rules apply to create it`,
    }
  }
  return {
    status: 'unresolved',
    key: 'dataset',
    problem: `no dataset ${label(datasetRef)} in application ${label(appRef)}`,
  }
}

/** One step of a plan for the declared datasets. */
export type DatasetPlanStep =
  | {
      action: 'create'
      declaration: DatasetDeclaration
      applicationId: string
      /** The eval dataset to exclude: stored (its id), declared in this plan (created first), or none. */
      exclude: { id: string } | { declared: DatasetDeclaration } | null
    }
  | { action: 'unchanged'; declaration: DatasetDeclaration; dataset: TargetDataset }

/**
 * What `rules apply` would do for the declared datasets: create the missing ones (eval
 * datasets first, so a training dataset can exclude one created in the same run), and
 * leave the stored ones alone. A stored dataset whose kind or exclusion differs from
 * its declaration is an error placed on the declaration, never a change; nothing is
 * ever deleted.
 */
export async function planDeclaredDatasets(
  declarations: readonly DatasetDeclaration[],
  lookup: RuleTargetLookup,
): Promise<{ steps: DatasetPlanStep[]; errors: RuleFileError[] }> {
  const steps: DatasetPlanStep[] = []
  const errors: RuleFileError[] = []
  const fail = (d: DatasetDeclaration, key: string, message: string) =>
    errors.push({ ...d.origin, yamlPath: key ? `${d.origin.yamlPath}.${key}` : d.origin.yamlPath, message })

  for (const d of declarations) {
    const application = await lookup.application(d.application)
    if (!application) {
      fail(d, 'application', `no application ${label(d.application)}`)
      continue
    }
    const stored = await lookup.dataset(application.id, d.name)
    let exclude: { id: string } | { declared: DatasetDeclaration } | null = null
    if (d.exclude !== null) {
      const excluded = await lookup.dataset(application.id, d.exclude)
      const declaredEval = declarations.find(
        (o) =>
          o.name === d.exclude &&
          o.kind === 'eval' &&
          (o.application === d.application || o.application === application.id),
      )
      if (excluded) {
        if (excluded.applicationId !== application.id || excluded.kind !== 'eval') {
          fail(
            d,
            'exclude',
            `${label(d.exclude)} is not an eval dataset of application ${label(d.application)}`,
          )
          continue
        }
        exclude = { id: excluded.id }
      } else if (declaredEval) {
        exclude = { declared: declaredEval }
      } else {
        fail(d, 'exclude', `no eval dataset ${label(d.exclude)} in application ${label(d.application)}`)
        continue
      }
    }
    if (!stored) {
      steps.push({ action: 'create', declaration: d, applicationId: application.id, exclude })
      continue
    }
    if (stored.kind !== d.kind) {
      fail(
        d,
        'kind',
        `dataset "${d.name}" (${stored.id}) is stored as ${stored.kind}, declared ${d.kind}; spansift never changes a dataset's kind: fix the file, or declare a new name`,
      )
      continue
    }
    const wanted = exclude && 'id' in exclude ? exclude.id : null
    if (exclude && 'declared' in exclude) {
      fail(
        d,
        'exclude',
        `dataset "${d.name}" (${stored.id}) is stored without excluding "${d.exclude}", which does not exist yet; spansift never changes an exclusion`,
      )
      continue
    }
    if (stored.excludeDatasetId !== wanted) {
      fail(
        d,
        d.exclude === null ? '' : 'exclude',
        `dataset "${d.name}" (${stored.id}) is stored ${stored.excludeDatasetId ? `excluding ${stored.excludeDatasetId}` : 'excluding nothing'}, declared ${wanted ? `excluding ${wanted}` : 'excluding nothing'}; spansift never changes an exclusion`,
      )
      continue
    }
    steps.push({ action: 'unchanged', declaration: d, dataset: stored })
  }
  // Eval datasets first: a training dataset may exclude one created by the same plan.
  steps.sort((a, b) => order(a) - order(b))
  return { steps, errors: errors.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line) }
}

function order(step: DatasetPlanStep): number {
  if (step.action === 'unchanged') return 0
  return step.exclude === null ? 1 : 2
}

/** A lookup that asks its source once per reference (one plan or load asks about the same names often). */
export function cachedLookup(source: RuleTargetLookup): RuleTargetLookup {
  const applications = new Map<string, Promise<TargetApplication | undefined>>()
  const datasets = new Map<string, Promise<TargetDataset | undefined>>()
  return {
    application(ref) {
      const found = applications.get(ref) ?? source.application(ref)
      applications.set(ref, found)
      return found
    },
    dataset(applicationId, ref) {
      const key = `${applicationId}\0${ref}`
      const found = datasets.get(key) ?? source.dataset(applicationId, ref)
      datasets.set(key, found)
      return found
    },
  }
}
