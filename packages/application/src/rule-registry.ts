import { stat } from 'node:fs/promises'
import type { MappedRow } from '@spansift/core/datasets/dataset-model'
import type { Stage } from '@spansift/core/lifecycle'
import type { Logger } from '@spansift/core/logger'
import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import { type CompiledRule, compileRule } from '@spansift/core/rules/rule-evaluator'
import {
  type DatasetDeclaration,
  formatRuleFileError,
  type RuleFileError,
} from '@spansift/core/rules/rule-file'
import type { Rule } from '@spansift/core/rules/rule-schema'
import { cachedLookup, type RuleTargetLookup, resolveRuleTarget } from '@spansift/core/rules/rule-targets'
import type { RuleSetStatus, RuleState } from '@spansift/core/rules/rules-service-port'
import { listRuleFiles, loadRuleFiles } from './rule-files.ts'

/** One rule's status and its counters in this process (since start; they survive reloads). */
export interface RuleStatus {
  rule: Rule
  state: RuleState
  error: string | null
  /** Spans this process matched (after sampling). */
  matched: number
  /** Rows this process appended (new rows; a replayed span is not counted again). */
  appended: number
  /** Matches left out because the dataset was at its cap. */
  droppedForCap: number
  /** The mapping fields (`inputs.question`, …) that had a value in at least one matched row. */
  resolvedFields: Set<string>
}

export interface RuleRegistry extends Stage {
  /** The active rules of one application, compiled: the hot path's lookup (no allocation). */
  forApplication(applicationId: string): readonly CompiledRule[]
  /** Every rule in force, whatever its state. */
  all(): readonly CompiledRule[]
  get(ruleId: string): CompiledRule | undefined
  status(): { rules: RuleStatus[]; reload: RuleSetStatus }
  /** Loads the directory now; false (and the last good set kept) when it has errors. */
  reload(): Promise<boolean>
  /** Counts a rule's matches and notes which of its mapping fields they gave a value. */
  recordMatched(ruleId: string, rows: readonly MappedRow[]): void
  recordAppended(ruleId: string, added: number, droppedForCap: number): void
  /** Marks a rule unable to run until its target checks out again (its dataset was deleted, say). */
  markFailed(ruleId: string, reason: string): void
}

export interface RuleRegistryOptions {
  dir: string
  /**
   * Where rules' application and dataset names (or ids) are looked up, on every load:
   * a rule whose target does not resolve (no such name, a dataset of another
   * application, a declared dataset not created yet) is loaded in state error. Without
   * it, only rules written with ids run.
   */
  lookup?: RuleTargetLookup
  /** How often the directory is checked for changes; 0 turns watching off. */
  pollIntervalMs?: number
  /**
   * How often every enabled rule's target is checked again (5 s by default; 0: only on
   * load): a rule whose dataset appears becomes active, one whose dataset goes away
   * stops, without a file change.
   */
  targetCheckIntervalMs?: number
  logger: Logger
  metrics?: Metrics
  now?: () => Date
}

const EMPTY: readonly CompiledRule[] = Object.freeze([])

/** A rule with its target looked up: ids in place of names, or the problem; `unchecked` when storage did not answer. */
interface ResolvedRule {
  rule: Rule
  problem: string | undefined
  unchecked?: boolean
}
/** The fingerprint of a directory that cannot be read (missing, not a directory). */
const UNREADABLE = 'unreadable'

/**
 * The rules in force, reloaded when their files change. A reload compiles the whole
 * directory first and swaps only when every file is valid: an invalid edit keeps the
 * last good set running and says so (log, `spansift_rules_reloads_total{outcome="error"}`, the
 * status `GET /v1/rules` shows). Changes are found by polling file names, sizes and
 * modification times, which also sees Kubernetes ConfigMap updates (a symlink swap
 * that file watchers often miss).
 */
export function createRuleRegistry(options: RuleRegistryOptions): RuleRegistry {
  const logger = options.logger.child({ component: 'rule-registry' })
  const metrics = options.metrics ?? noopMetrics
  const now = options.now ?? (() => new Date())
  const pollIntervalMs = options.pollIntervalMs ?? 1_000
  const targetCheckIntervalMs = options.targetCheckIntervalMs ?? 5_000
  const reloads = metrics.counter({
    name: 'spansift_rules_reloads_total',
    help: 'Loads of the rules directory, by outcome (ok, error: the last good set stays in force).',
    labelNames: ['outcome'],
  })
  const rulesGauge = metrics.gauge({
    name: 'spansift_rules',
    help: 'Rules in force, by state (active, disabled, error).',
    labelNames: ['state'],
  })

  let compiled: readonly CompiledRule[] = EMPTY
  let byId = new Map<string, CompiledRule>()
  let byApplication = new Map<string, readonly CompiledRule[]>()
  const statuses = new Map<string, RuleStatus>()
  let setStatus: RuleSetStatus = {
    dir: options.dir,
    ok: false,
    errors: [],
    files: [],
    loadedAt: null,
    lastAttemptAt: null,
  }
  // The last good load as written (names, not ids), resolved again by every target check.
  let loaded: { rules: readonly Rule[]; datasets: readonly DatasetDeclaration[] } = {
    rules: [],
    datasets: [],
  }
  let fingerprint = ''
  let timer: NodeJS.Timeout | undefined
  let targetTimer: NodeJS.Timeout | undefined
  let reloading: Promise<boolean> | undefined
  let checking: Promise<void> | undefined

  function rebuildIndex(): void {
    const grouped = new Map<string, CompiledRule[]>()
    for (const c of compiled) {
      if (statuses.get(c.rule.id)?.state !== 'active') continue
      const list = grouped.get(c.rule.applicationId)
      if (list) list.push(c)
      else grouped.set(c.rule.applicationId, [c])
    }
    byApplication = grouped
    const counts = { active: 0, disabled: 0, error: 0 }
    for (const c of compiled) counts[statuses.get(c.rule.id)?.state ?? 'error']++
    for (const [state, count] of Object.entries(counts)) rulesGauge.set(count, { state })
  }

  /**
   * Each rule with its application and dataset ids looked up (names resolved on every
   * load, so a renamed or newly created target is seen), and the problem when they do
   * not resolve. This worker never creates a declared dataset: `spansift rules apply`
   * does, once; a rule waiting for one says so in its status.
   */
  async function resolveTargets(
    rules: readonly Rule[],
    declared: readonly DatasetDeclaration[],
  ): Promise<ResolvedRule[]> {
    const lookup = options.lookup && cachedLookup(options.lookup)
    const out: ResolvedRule[] = []
    for (const rule of rules) {
      if (!lookup) {
        const named = rule.applicationId === '' || rule.datasetId === ''
        out.push({ rule, problem: named ? 'names cannot be resolved here: write ids' : undefined })
        continue
      }
      let resolution: Awaited<ReturnType<typeof resolveRuleTarget>>
      try {
        resolution = await resolveRuleTarget(rule, lookup, declared)
      } catch (error) {
        // Storage did not answer: the rule's target is unknown, not wrong.
        out.push({ rule, problem: `cannot check: ${(error as Error).message}`, unchecked: true })
        continue
      }
      out.push(
        resolution.status === 'resolved'
          ? {
              rule: { ...rule, applicationId: resolution.applicationId, datasetId: resolution.datasetId },
              problem: undefined,
            }
          : { rule, problem: resolution.problem },
      )
    }
    return out
  }

  async function directoryFingerprint(): Promise<string> {
    const files = await listRuleFiles(options.dir)
    const parts: string[] = []
    for (const file of files) {
      const info = await stat(file).catch(() => undefined)
      parts.push(`${file}:${info?.size}:${info?.mtimeMs}`)
    }
    return parts.join('|')
  }

  async function load(): Promise<boolean> {
    const attemptAt = now().toISOString()
    let errors: RuleFileError[]
    let rules: Rule[]
    let datasets: DatasetDeclaration[]
    let files: string[]
    try {
      fingerprint = await directoryFingerprint()
      ;({ rules, datasets, errors, files } = await loadRuleFiles(options.dir))
    } catch (error) {
      // Seen as the poll sees it, so an unreadable directory is reported once, not every poll.
      fingerprint = UNREADABLE
      errors = [{ file: options.dir, line: 0, column: 0, yamlPath: '', message: (error as Error).message }]
      rules = []
      datasets = []
      files = []
    }
    if (errors.length > 0) {
      const messages = errors.map(formatRuleFileError)
      setStatus = { ...setStatus, ok: false, errors: messages, lastAttemptAt: attemptAt }
      reloads.inc({ outcome: 'error' })
      logger.error('rule files are invalid; the last good rules stay in force', {
        dir: options.dir,
        errors: messages,
        rules_in_force: compiled.length,
      })
      return false
    }
    const resolved = await resolveTargets(rules, datasets)
    const next = resolved.map(({ rule }) => compileRule(rule))
    const nextStatuses = new Map<string, RuleStatus>()
    for (const [i, c] of next.entries()) {
      const previous = statuses.get(c.rule.id)
      const problem = resolved[i]!.problem
      const failing = c.rule.enabled && problem !== undefined
      nextStatuses.set(c.rule.id, {
        rule: c.rule,
        state: failing ? 'error' : c.rule.enabled ? 'active' : 'disabled',
        error: failing ? problem : null,
        matched: previous?.matched ?? 0,
        appended: previous?.appended ?? 0,
        droppedForCap: previous?.droppedForCap ?? 0,
        resolvedFields: previous?.resolvedFields ?? new Set(),
      })
    }
    compiled = next
    loaded = { rules, datasets }
    byId = new Map(next.map((c) => [c.rule.id, c]))
    statuses.clear()
    for (const [id, s] of nextStatuses) statuses.set(id, s)
    rebuildIndex()
    setStatus = {
      dir: options.dir,
      ok: true,
      errors: [],
      files,
      loadedAt: attemptAt,
      lastAttemptAt: attemptAt,
    }
    reloads.inc({ outcome: 'ok' })
    logger.info('rules loaded', {
      dir: options.dir,
      files: files.length,
      rules: next.length,
      active: next.filter((c) => statuses.get(c.rule.id)?.state === 'active').length,
      failing: [...statuses.values()]
        .filter((s) => s.state === 'error')
        .map((s) => ({ rule: s.rule.id, error: s.error })),
    })
    return true
  }

  function reload(): Promise<boolean> {
    // After a running target check, so the two never interleave their state changes.
    reloading ??= (checking ?? Promise.resolve()).then(load).finally(() => {
      reloading = undefined
    })
    return reloading
  }

  /**
   * Checks every enabled rule's target again (one check per dataset) and moves rules
   * between active and error accordingly. A check that fails (storage unreachable) changes
   * nothing: a blip must not stop running rules.
   */
  async function recheckTargets(): Promise<void> {
    if (!options.lookup) return
    const before = compiled
    const resolved = await resolveTargets(loaded.rules, loaded.datasets)
    if (compiled !== before) return // reloaded meanwhile: that load resolved them afresh
    let changed = false
    const next = compiled.map((c, i) => {
      const s = statuses.get(c.rule.id)
      const answer = resolved[i]
      if (!s || s.state === 'disabled' || !answer || answer.rule.id !== c.rule.id || answer.unchecked)
        return c
      const { rule, problem } = answer
      if (problem && s.state === 'active') {
        s.state = 'error'
        s.error = problem
        changed = true
        logger.error('rule stopped: its target is gone', { rule: rule.id, reason: problem })
        return c
      }
      if (!problem && (s.state === 'error' || rule.datasetId !== c.rule.datasetId)) {
        const recompiled = compileRule(rule)
        s.rule = recompiled.rule
        s.state = 'active'
        s.error = null
        changed = true
        logger.info('rule active: its target exists now', { rule: rule.id, dataset: rule.datasetId })
        return recompiled
      }
      if (problem && s.error !== problem) s.error = problem
      return c
    })
    if (!changed) return
    compiled = next
    byId = new Map(next.map((c) => [c.rule.id, c]))
    rebuildIndex()
  }

  function scheduleTargetCheck(): void {
    targetTimer = setTimeout(() => {
      if (reloading) return scheduleTargetCheck()
      checking = recheckTargets()
        .catch((error: unknown) => logger.warn('rule target check failed', { error }))
        .finally(() => {
          checking = undefined
          if (targetTimer) scheduleTargetCheck()
        })
    }, targetCheckIntervalMs)
    targetTimer.unref()
  }

  async function poll(): Promise<void> {
    try {
      const current = await directoryFingerprint().catch(() => UNREADABLE)
      if (current !== fingerprint) await reload()
    } finally {
      if (timer) timer = setTimeout(poll, pollIntervalMs)
    }
  }

  return {
    async start() {
      await reload()
      if (pollIntervalMs > 0) {
        timer = setTimeout(poll, pollIntervalMs)
        timer.unref()
      }
      if (targetCheckIntervalMs > 0 && options.lookup) scheduleTargetCheck()
    },
    async shutdown() {
      const pending = timer
      timer = undefined
      clearTimeout(pending)
      const pendingCheck = targetTimer
      targetTimer = undefined
      clearTimeout(pendingCheck)
      await checking
      await reloading
    },
    forApplication: (applicationId) => byApplication.get(applicationId) ?? EMPTY,
    all: () => compiled,
    get: (ruleId) => byId.get(ruleId),
    status: () => ({
      rules: compiled.map((c) => {
        const s = statuses.get(c.rule.id) as RuleStatus
        return { ...s, resolvedFields: new Set(s.resolvedFields) }
      }),
      reload: { ...setStatus, errors: [...setStatus.errors], files: [...setStatus.files] },
    }),
    reload,
    recordMatched(ruleId, rows) {
      const s = statuses.get(ruleId)
      if (!s) return
      s.matched += rows.length
      for (const row of rows)
        for (const bucket of ['inputs', 'expected_outputs', 'metadata', 'extras'] as const)
          for (const key in row[bucket]) s.resolvedFields.add(`${bucket}.${key}`)
    },
    recordAppended(ruleId, added, droppedForCap) {
      const s = statuses.get(ruleId)
      if (!s) return
      s.appended += added
      s.droppedForCap += droppedForCap
    },
    markFailed(ruleId, reason) {
      const s = statuses.get(ruleId)
      if (!s || s.state === 'error') return
      s.state = 'error'
      s.error = reason
      rebuildIndex()
      logger.error('rule stopped: it cannot append', { rule: ruleId, reason })
    },
  }
}
