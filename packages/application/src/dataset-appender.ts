import type { AppendCandidate } from '@spansift/core/datasets/append-candidate'
import type { DatasetAppendHandler } from '@spansift/core/datasets/append-queue-port'
import type { AppendResult, DatasetWriter } from '@spansift/core/datasets/dataset-writer-port'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import type { Logger } from '@spansift/core/logger'
import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import type { RuleRegistry } from './rule-registry.ts'

export interface DatasetAppenderOptions {
  writer: DatasetWriter
  /** Where per-rule counters and failures go; absent in processes that run no rules. */
  registry?: RuleRegistry
  logger: Logger
  metrics?: Metrics
}

/**
 * The consumer side of the append queue: appends a dataset's candidates through the
 * dataset writer, filling it up to its cap (a streaming rule has nobody to refuse to).
 * A dataset that no longer exists, or belongs to another application, can never take
 * the rows: they are dropped, counted and logged, and the rules that target it are
 * marked failed, instead of blocking the stream. Any other failure is thrown, so the
 * bus retries the batch.
 */
export function createDatasetAppender(options: DatasetAppenderOptions): DatasetAppendHandler {
  const logger = options.logger.child({ component: 'dataset-appender' })
  const metrics = options.metrics ?? noopMetrics
  const dropped = metrics.counter({
    name: 'spansift_rule_rows_dropped_total',
    help: 'Rule matches not appended, by reason (dataset_full, dataset_missing, wrong_application).',
    labelNames: ['reason'],
  })
  return async (datasetId, candidates, signal) => {
    try {
      const result = await options.writer.append(datasetId, candidates, {
        upToCap: true,
        ...(signal ? { signal } : {}),
      })
      if (options.registry) countByRule(options.registry, candidates, result)
      if (result.droppedForCap > 0) {
        dropped.inc({ reason: 'dataset_full' }, result.droppedForCap)
        logger.warn('dataset is at its cap; rule matches left out', {
          dataset_id: datasetId,
          dropped: result.droppedForCap,
        })
      }
    } catch (error) {
      const permanent =
        error instanceof SpansiftError &&
        (error.code === ErrorCode.notFound || error.code === ErrorCode.invalidArgument)
      if (!permanent) throw error
      const reason = error.code === ErrorCode.notFound ? 'dataset_missing' : 'wrong_application'
      dropped.inc({ reason }, candidates.length)
      logger.error('rule matches cannot be appended; dropped', {
        dataset_id: datasetId,
        rows: candidates.length,
        error: error.message,
      })
      const ruleIds = new Set(candidates.map((c) => c.ruleId).filter((id): id is string => id !== null))
      for (const ruleId of ruleIds) options.registry?.markFailed(ruleId, error.message)
    }
  }
}

/**
 * Attributes new rows and cap drops to the rules whose candidates they were: a candidate
 * neither in the answer's items nor excluded (leakage) was left out for the cap.
 */
function countByRule(
  registry: RuleRegistry,
  candidates: readonly AppendCandidate[],
  result: AppendResult,
): void {
  const key = (ref: { traceId: string; spanId: string }) => `${ref.traceId}/${ref.spanId}`
  const answered = new Map(result.items.map((item) => [key(item), item.added]))
  const excluded = new Set(result.excluded.map(key))
  const counts = new Map<string, { added: number; dropped: number }>()
  for (const c of candidates) {
    if (!c.ruleId || excluded.has(key(c))) continue
    const entry = counts.get(c.ruleId) ?? { added: 0, dropped: 0 }
    const added = answered.get(key(c))
    if (added === undefined) entry.dropped++
    else if (added) entry.added++
    counts.set(c.ruleId, entry)
  }
  for (const [ruleId, { added, dropped }] of counts) registry.recordAppended(ruleId, added, dropped)
}
