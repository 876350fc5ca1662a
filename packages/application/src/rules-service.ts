import { createHash } from 'node:crypto'
import type { DatasetItemsRepository } from '@spansift/clickhouse/dataset-items-repository'
import type { RuleBackfillsRepository } from '@spansift/clickhouse/rule-backfills-repository'
import type { RuleScanRepository } from '@spansift/clickhouse/rule-scan-repository'
import { candidateFromSpan } from '@spansift/core/datasets/append-candidate'
import type { DatasetWriter } from '@spansift/core/datasets/dataset-writer-port'
import { applyMapping, unresolvedMappingWarning } from '@spansift/core/datasets/mapping'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import type { Logger } from '@spansift/core/logger'
import { compilePredicate } from '@spansift/core/rules/compile-js'
import { predicateToSql } from '@spansift/core/rules/compile-sql'
import type { CompiledRule } from '@spansift/core/rules/rule-evaluator'
import type { BackfillJob, RulesService, SearchPromotion } from '@spansift/core/rules/rules-service-port'
import type { NanoTimeRange } from '@spansift/core/time-range'
import { type BackfillableRule, backfillIdOf, backfillRule, dryRunRule } from './rule-backfill.ts'
import type { RuleRegistry, RuleStatus } from './rule-registry.ts'

export interface RulesServiceOptions {
  registry: RuleRegistry
  scans: RuleScanRepository
  progress: RuleBackfillsRepository
  items: DatasetItemsRepository
  writer: DatasetWriter
  logger: Logger
  now?: () => Date
}

/** A compiled rule as the backfill engine takes it: the SQL pre-filter and the JS decision. */
export function toBackfillable(compiled: CompiledRule): BackfillableRule {
  return {
    id: compiled.rule.id,
    applicationId: compiled.rule.applicationId,
    datasetId: compiled.rule.datasetId,
    condition: compiled.condition(),
    evaluate: (span) => compiled.evaluate(span),
  }
}

/**
 * A search promotion as the backfill engine takes it: the predicate as the SQL pre-filter
 * (the same compilation as a rule's), the JS matcher as the decision, and the mapping.
 * Its id names it by its content, so the same promotion resumes rather than restarts.
 */
export function searchPromotionRule(promotion: SearchPromotion): BackfillableRule {
  const matcher = promotion.predicate ? compilePredicate(promotion.predicate) : () => true
  const params: Record<string, unknown> = { search_application: promotion.applicationId }
  const parts = ['application_id = {search_application:UUID}']
  if (promotion.predicate) {
    const predicate = predicateToSql(promotion.predicate, 'search')
    Object.assign(params, predicate.params)
    parts.push(`(${predicate.sql})`)
  }
  const id = `search-${createHash('sha256')
    .update(JSON.stringify([promotion.predicate ?? null, promotion.mapping]))
    .digest('hex')
    .slice(0, 16)}`
  return {
    id,
    applicationId: promotion.applicationId,
    datasetId: promotion.datasetId,
    condition: { sql: parts.join(' AND '), params },
    evaluate: (span) =>
      span.applicationId === promotion.applicationId && matcher(span)
        ? candidateFromSpan(span, applyMapping(span, promotion.mapping), { kind: 'api' })
        : undefined,
  }
}

/**
 * The API's view of rules: the registry's status with stored row counts, dry runs, and
 * backfills. Backfills run in this process, one per (rule, range) at a time; asking again
 * for a running one returns it, asking again for a finished or interrupted one resumes it
 * (partitions done are skipped, appends are idempotent).
 */
export function createRulesService(options: RulesServiceOptions): RulesService {
  const { registry } = options
  const now = options.now ?? (() => new Date())
  const logger = options.logger.child({ component: 'rules-service' })
  const jobs = new Map<string, BackfillJob>()

  /** A rule that can scan: it exists and its application and dataset names resolved. */
  function requireRule(ruleId: string): CompiledRule {
    const compiled = registry.get(ruleId)
    if (!compiled) throw new SpansiftError(ErrorCode.notFound, `no rule ${ruleId}`)
    if (compiled.rule.applicationId === '' || compiled.rule.datasetId === '') {
      const reason = registry.status().rules.find((r) => r.rule.id === ruleId)?.error
      throw new SpansiftError(
        ErrorCode.conflict,
        `rule ${ruleId}: its application or dataset does not resolve${reason ? ` (${reason})` : ''}`,
      )
    }
    return compiled
  }

  /** Runs (or returns the running) backfill of a rule over a range, tracking its progress. */
  function run(rule: BackfillableRule, range: NanoTimeRange): BackfillJob {
    const backfillId = backfillIdOf(rule, range)
    const running = jobs.get(backfillId)
    if (running?.state === 'running') return running
    const job: BackfillJob = {
      backfillId,
      ruleId: rule.id,
      applicationId: rule.applicationId,
      datasetId: rule.datasetId,
      state: 'running',
      fromUnixNano: range.fromUnixNano,
      toUnixNano: range.toUnixNano,
      startedAt: now().toISOString(),
      finishedAt: null,
      partitionsTotal: 0,
      partitionsDone: 0,
      currentPartition: null,
      progressDone: 0,
      progressTotal: 0,
      scanned: 0,
      matched: 0,
      added: 0,
      alreadyPresent: 0,
      droppedForCap: 0,
      datasetFull: false,
      error: null,
    }
    jobs.set(backfillId, job)
    const ruleId = rule.id
    void backfillRule({
      rule,
      range,
      scans: options.scans,
      progress: options.progress,
      writer: options.writer,
      logger,
      onProgress: (event) => {
        job.partitionsTotal = event.partitionsTotal
        job.partitionsDone = event.partitionsDone
        job.currentPartition = event.partition
        job.scanned = event.scanned
        job.matched = event.matched
        job.added = event.added
        job.progressDone = event.done
        job.progressTotal = event.total
      },
    }).then(
      (summary) => {
        job.state = 'done'
        // A run stopped by the cap lists the partition it stopped in, unfinished.
        job.partitionsDone = summary.partitions.length - (summary.datasetFull ? 1 : 0)
        job.partitionsTotal = Math.max(job.partitionsTotal, summary.partitions.length)
        job.currentPartition = null
        job.matched = summary.matched
        job.added = summary.added
        job.alreadyPresent = summary.alreadyPresent
        job.droppedForCap = summary.droppedForCap
        job.datasetFull = summary.datasetFull
        job.finishedAt = now().toISOString()
        logger.info('backfill done', { rule: ruleId, backfill_id: backfillId, added: summary.added })
      },
      (error: Error) => {
        job.state = 'failed'
        job.error = error.message
        job.finishedAt = now().toISOString()
        logger.error('backfill failed; run it again to resume', {
          rule: ruleId,
          backfill_id: backfillId,
          error,
        })
      },
    )
    return job
  }

  return {
    async listing() {
      const { rules, reload } = registry.status()
      const stored = await options.items.countByRule(rules.map((r) => r.rule.id))
      return {
        reload,
        rules: rules.map((s) => ({
          id: s.rule.id,
          description: s.rule.description,
          applicationId: s.rule.applicationId,
          datasetId: s.rule.datasetId,
          target: { ...s.rule.target },
          enabled: s.rule.enabled,
          state: s.state,
          error: s.error,
          file: s.rule.origin.file,
          line: s.rule.origin.line,
          sample: s.rule.sample,
          includeErrors: s.rule.includeErrors,
          matched: s.matched,
          appended: s.appended,
          droppedForCap: s.droppedForCap,
          storedRows: stored.get(s.rule.id) ?? 0,
          warnings: mappingWarnings(s),
        })),
      }
    },
    applicationOf: (ruleId) => registry.get(ruleId)?.rule.applicationId,
    async test(ruleId, range, sampleSize) {
      const result = await dryRunRule({
        rule: toBackfillable(requireRule(ruleId)),
        range,
        scans: options.scans,
        sampleSize,
      })
      return {
        ruleId,
        matched: result.matched,
        partitions: result.partitions,
        samples: result.samples.map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          row: s.row,
          redactedFields: s.redactedFields,
        })),
      }
    },
    startBackfill: async (ruleId: string, range: NanoTimeRange) =>
      run(toBackfillable(requireRule(ruleId)), range),
    startSearchPromotion: async (promotion) => run(searchPromotionRule(promotion), promotion.range),
    backfill: (backfillId) => jobs.get(backfillId),
  }
}

/** The rule's mapping fields that resolved in none of the rows this process matched. */
function mappingWarnings(s: RuleStatus): string[] {
  if (s.matched === 0) return []
  const fields = Object.entries(s.rule.mapping).flatMap(([bucket, fields]) =>
    Object.keys(fields ?? {}).map((key) => `${bucket}.${key}`),
  )
  const unresolved = fields.filter((f) => !s.resolvedFields.has(f))
  const warning = unresolvedMappingWarning(s.rule.mapping, unresolved, s.matched)
  return warning ? [warning] : []
}
