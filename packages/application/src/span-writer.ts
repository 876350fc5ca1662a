import type { Stage } from '@spansift/core/lifecycle'
import type { Logger } from '@spansift/core/logger'
import { DURATION_BUCKETS_SECONDS, type Metrics, noopMetrics } from '@spansift/core/metrics'
import type { Span } from '@spansift/core/span-model'
import { isPermanentStorageError } from '@spansift/core/storage-errors'

export interface SpanWriterOptions {
  /** Stores one batch (the `spans` repository's insert). */
  insert(spans: readonly Span[]): Promise<void>
  /** Flush when this many spans are waiting. */
  maxBatchSpans: number
  /** Flush when the oldest waiting span has waited this long. */
  maxDelayMs: number
  logger: Logger
  /** Where rows written, batch durations and queue depth go; nowhere by default. */
  metrics?: Metrics
}

export interface SpanWriterStats {
  queuedSpans: number
  batchesWritten: number
  spansWritten: number
  lastBatchMs: number
}

export interface SpanWriter extends Stage {
  /** Queues spans for the next batch; resolves when that batch is stored, rejects if it failed. */
  write(spans: readonly Span[]): Promise<void>
  stats(): SpanWriterStats
}

interface Waiting {
  spans: readonly Span[]
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * Batches spans from many requests (or bus messages) into few large inserts: ClickHouse
 * wants thousands of rows per insert, exporters send a few hundred per request. Flushes
 * on size, on time, and on shutdown; one insert at a time, so a slow ClickHouse holds
 * writers back rather than piling inserts on it. When storage refuses a merged batch
 * (a permanent `StorageRejectedError`), the batch is split by request until the refused
 * requests are isolated: they fail, every other request is stored, so one sender's bad
 * data never fails another's.
 */
export function createSpanWriter(options: SpanWriterOptions): SpanWriter {
  let waiting: Waiting[] = []
  let queuedSpans = 0
  let timer: NodeJS.Timeout | undefined
  let flushing: Promise<void> | undefined
  const stats = { batchesWritten: 0, spansWritten: 0, lastBatchMs: 0 }
  const metrics = options.metrics ?? noopMetrics
  const rowsWritten = metrics.counter({
    name: 'spansift_span_writer_rows_written_total',
    help: 'Span rows the span writer inserted into ClickHouse.',
  })
  const batchDuration = metrics.histogram({
    name: 'spansift_span_writer_batch_duration_seconds',
    help: 'Span writer inserts: time per batch, by outcome (ok, failed).',
    labelNames: ['outcome'],
    buckets: DURATION_BUCKETS_SECONDS,
  })
  const queueDepth = metrics.gauge({
    name: 'spansift_span_writer_queue_spans',
    help: 'Spans queued for the next span writer batch.',
  })

  function schedule(): void {
    if (flushing) return // the running flush picks the queue up when it ends
    if (queuedSpans >= options.maxBatchSpans) {
      void flush()
    } else if (!timer && queuedSpans > 0) {
      timer = setTimeout(() => void flush(), options.maxDelayMs)
    }
  }

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (flushing || waiting.length === 0) return flushing
    const batch = waiting
    waiting = []
    queuedSpans = 0
    queueDepth.set(0)
    const spans = batch.length === 1 ? batch[0]!.spans : batch.flatMap((w) => w.spans)
    const started = performance.now()
    flushing = options
      .insert(spans)
      .then(
        () => {
          stats.batchesWritten++
          stats.spansWritten += spans.length
          stats.lastBatchMs = performance.now() - started
          rowsWritten.inc(undefined, spans.length)
          batchDuration.observe(stats.lastBatchMs / 1000, { outcome: 'ok' })
          for (const w of batch) w.resolve()
        },
        (error: unknown) => {
          batchDuration.observe((performance.now() - started) / 1000, { outcome: 'failed' })
          if (isPermanentStorageError(error) && batch.length > 1) return isolate(batch)
          options.logger.warn('span batch failed', {
            spans: spans.length,
            permanent: isPermanentStorageError(error),
            error,
          })
          for (const w of batch) w.reject(error)
        },
      )
      .finally(() => {
        flushing = undefined
        schedule()
      })
    return flushing
  }

  /**
   * Stores what it can of a batch storage refused: each half is inserted on its own, and a
   * half refused again is split again, so k bad requests among n cost about 2k·log2(n)
   * inserts. A refused single request gets the refusal; a retryable failure fails the
   * requests it covers (their senders retry).
   */
  async function isolate(batch: readonly Waiting[]): Promise<void> {
    const middle = Math.ceil(batch.length / 2)
    for (const half of [batch.slice(0, middle), batch.slice(middle)]) {
      const spans = half.flatMap((w) => w.spans)
      try {
        await options.insert(spans)
      } catch (error) {
        if (isPermanentStorageError(error) && half.length > 1) {
          await isolate(half)
          continue
        }
        options.logger.warn('span batch failed', {
          spans: spans.length,
          permanent: isPermanentStorageError(error),
          error,
        })
        for (const w of half) w.reject(error)
        continue
      }
      stats.batchesWritten++
      stats.spansWritten += spans.length
      rowsWritten.inc(undefined, spans.length)
      for (const w of half) w.resolve()
    }
  }

  return {
    write(spans) {
      if (spans.length === 0) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        waiting.push({ spans, resolve, reject })
        queuedSpans += spans.length
        queueDepth.set(queuedSpans)
        schedule()
      })
    },
    stats: () => ({ queuedSpans, ...stats }),
    async start() {},
    async shutdown() {
      // Drain: flush until nothing is queued or in flight.
      while (flushing || waiting.length > 0) {
        await (flushing ?? flush())
      }
    },
  }
}
