import { loadRuleFiles } from '@spansift/application/rule-files'
import {
  type DatasetDeclaration,
  formatRuleFileError,
  type RuleFileError,
} from '@spansift/core/rules/rule-file'
import type { Rule } from '@spansift/core/rules/rule-schema'
import {
  cachedLookup,
  type DatasetPlanStep,
  planDeclaredDatasets,
  type RuleTargetLookup,
  type RuleTargetResolution,
  resolveRuleTarget,
} from '@spansift/core/rules/rule-targets'
import type { ApiClient } from './api-client.ts'
import { createApiTargetLookup } from './api-refs.ts'
import { CliError, type CliIo } from './command.ts'

/** What a directory of rule files means against a running spansift. */
export interface RulesPlan {
  dir: string
  files: string[]
  /** Problems: the files' own, then unknown names, then declarations differing from storage. */
  errors: RuleFileError[]
  datasets: DatasetPlanStep[]
  rules: Array<{ rule: Rule; resolution: RuleTargetResolution }>
}

/**
 * Reads a rules directory and looks every name and id up through the API: the datasets
 * the files declare (create or unchanged; a differing kind or exclusion is an error),
 * and each rule's application and dataset. Writes nothing.
 */
export async function planRules(dir: string, client: ApiClient): Promise<RulesPlan> {
  const loaded = await loadRuleFiles(dir)
  if (loaded.errors.length > 0) {
    return { dir, files: loaded.files, errors: loaded.errors, datasets: [], rules: [] }
  }
  const lookup: RuleTargetLookup = cachedLookup(createApiTargetLookup(client))
  const planned = await planDeclaredDatasets(loaded.datasets, lookup)
  const rules: RulesPlan['rules'] = []
  const errors: RuleFileError[] = []
  for (const rule of loaded.rules) {
    const resolution = await resolveRuleTarget(rule, lookup, loaded.datasets)
    rules.push({ rule, resolution })
    if (resolution.status === 'unresolved') {
      errors.push({
        file: rule.origin.file,
        ...rule.origin[resolution.key],
        yamlPath: `${rule.origin.yamlPath}.${resolution.key}`,
        message: resolution.problem,
      })
    }
  }
  return {
    dir,
    files: loaded.files,
    errors: [...errors, ...planned.errors].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line),
    datasets: planned.steps,
    rules,
  }
}

const describeDeclaration = (d: DatasetDeclaration) =>
  `${d.name} (${d.kind}${d.exclude ? `, excludes ${d.exclude}` : ''}) in ${d.application}`

/** The plan as text: what would be created, what is there already, where each rule appends. */
export function formatPlan(plan: RulesPlan): string {
  const lines: string[] = []
  if (plan.datasets.length > 0) {
    lines.push('datasets:')
    for (const step of plan.datasets) {
      const where = `${step.declaration.origin.file}:${step.declaration.origin.line}`
      lines.push(
        step.action === 'create'
          ? `  + create     ${describeDeclaration(step.declaration)}   [${where}]`
          : `  = unchanged  ${describeDeclaration(step.declaration)}: ${step.dataset.id}   [${where}]`,
      )
    }
  }
  if (plan.rules.length > 0) {
    lines.push('rules:')
    for (const { rule, resolution } of plan.rules) {
      const target = `${rule.target.application} / ${rule.target.dataset}`
      const outcome =
        resolution.status === 'resolved'
          ? `dataset ${resolution.datasetId}`
          : resolution.status === 'declared'
            ? 'the dataset this plan creates'
            : `unresolved: ${resolution.problem}`
      lines.push(`  ${rule.id}: ${target} -> ${outcome}`)
    }
  }
  const creates = plan.datasets.filter((s) => s.action === 'create').length
  const unchanged = plan.datasets.length - creates
  lines.push(
    `plan: ${creates} dataset${creates === 1 ? '' : 's'} to create, ${unchanged} unchanged, ${plan.rules.length} rule${plan.rules.length === 1 ? '' : 's'}; nothing is changed or deleted`,
  )
  return lines.join('\n')
}

/** The plan as JSON for scripts. */
export function planJson(plan: RulesPlan) {
  return {
    valid: plan.errors.length === 0,
    errors: plan.errors.map((e) => ({ ...e, text: formatRuleFileError(e) })),
    datasets: plan.datasets.map((step) => ({
      action: step.action,
      name: step.declaration.name,
      application: step.declaration.application,
      kind: step.declaration.kind,
      exclude: step.declaration.exclude,
      id: step.action === 'unchanged' ? step.dataset.id : null,
      file: step.declaration.origin.file,
      line: step.declaration.origin.line,
    })),
    rules: plan.rules.map(({ rule, resolution }) => ({
      id: rule.id,
      application: rule.target.application,
      dataset: rule.target.dataset,
      status: resolution.status,
      application_id: resolution.status === 'unresolved' ? null : resolution.applicationId,
      dataset_id: resolution.status === 'resolved' ? resolution.datasetId : null,
      problem: resolution.status === 'resolved' ? null : resolution.problem,
    })),
  }
}

/** Writes a plan's problems to stderr, one `file:line:column: path: message` each. */
export function printPlanErrors(plan: RulesPlan, io: CliIo): void {
  for (const error of plan.errors) io.stderr.write(`${formatRuleFileError(error)}\n`)
}

/**
 * Creates the datasets a plan would create, in its order (eval datasets before the
 * training datasets that exclude them), through the API. Refuses a plan with errors.
 * Returns how many it created; `onCreated` hears of each as it is created (so a failure
 * part way says which were).
 */
export async function applyPlan(
  plan: RulesPlan,
  client: ApiClient,
  onCreated: (declaration: DatasetDeclaration, id: string) => void,
): Promise<number> {
  if (plan.errors.length > 0) throw new CliError('the plan has errors; nothing was applied')
  const created = new Map<DatasetDeclaration, string>()
  for (const step of plan.datasets) {
    if (step.action !== 'create') continue
    let excludeId: string | null = null
    if (step.exclude && 'id' in step.exclude) excludeId = step.exclude.id
    else if (step.exclude) {
      excludeId = created.get(step.exclude.declared) ?? null
      if (excludeId === null) {
        throw new CliError(`${describeDeclaration(step.declaration)}: its excluded dataset was not created`)
      }
    }
    const dataset = await client.json<{ id: string }>('POST', '/v1/datasets', {
      name: step.declaration.name,
      application_id: step.applicationId,
      kind: step.declaration.kind,
      ...(excludeId ? { exclude_dataset_id: excludeId } : {}),
    })
    created.set(step.declaration, dataset.id)
    onCreated(step.declaration, dataset.id)
  }
  return created.size
}
