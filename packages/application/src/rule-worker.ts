import type { AppendCandidate } from '@spansift/core/datasets/append-candidate'
import type { DatasetAppendBatch, DatasetAppendQueue } from '@spansift/core/datasets/append-queue-port'
import type { MappedRow } from '@spansift/core/datasets/dataset-model'
import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import type { Span } from '@spansift/core/span-model'
import type { RuleRegistry } from './rule-registry.ts'

export interface RuleWorkerOptions {
  registry: RuleRegistry
  queue: DatasetAppendQueue
  metrics?: Metrics
}

/**
 * The rule worker's batch handler (consumer group `spansift-rule-worker`): every active
 * rule of a span's application is evaluated on it (application, errors, sampling,
 * predicate), matches are mapped and redacted into candidates, and the candidates go,
 * grouped by dataset, to the append queue. The batch resolves once they are durable, so
 * the bus commits only what was handed on; a redelivered batch appends nothing new
 * (item ids are derived from dataset, trace and span).
 */
export function createRuleWorker(options: RuleWorkerOptions): (spans: readonly Span[]) => Promise<void> {
  const { registry, queue } = options
  const metrics = options.metrics ?? noopMetrics
  const evaluations = metrics.counter({
    name: 'spansift_rule_evaluations_total',
    help: 'Rule evaluations (one rule on one span).',
  })
  const matches = metrics.counter({
    name: 'spansift_rule_matches_total',
    help: 'Spans that qualified for a rule (after sampling) and were handed to the append path.',
  })

  return async (spans) => {
    const byDataset = new Map<string, AppendCandidate[]>()
    const matchedByRule = new Map<string, MappedRow[]>()
    let evaluated = 0
    for (const span of spans) {
      const rules = registry.forApplication(span.applicationId)
      evaluated += rules.length
      for (const rule of rules) {
        const candidate = rule.evaluate(span)
        if (!candidate) continue
        const datasetId = rule.rule.datasetId
        const list = byDataset.get(datasetId)
        if (list) list.push(candidate)
        else byDataset.set(datasetId, [candidate])
        const rows = matchedByRule.get(rule.rule.id)
        if (rows) rows.push(candidate.row)
        else matchedByRule.set(rule.rule.id, [candidate.row])
      }
    }
    evaluations.inc(undefined, evaluated)
    if (byDataset.size === 0) return
    const batches: DatasetAppendBatch[] = [...byDataset].map(([datasetId, candidates]) => ({
      datasetId,
      candidates,
    }))
    await queue.enqueue(batches)
    let total = 0
    for (const [ruleId, rows] of matchedByRule) {
      registry.recordMatched(ruleId, rows)
      total += rows.length
    }
    matches.inc(undefined, total)
  }
}
