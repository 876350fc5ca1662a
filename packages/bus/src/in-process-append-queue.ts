import type {
  DatasetAppendBatch,
  DatasetAppendHandler,
  DatasetAppendQueue,
} from '@spansift/core/datasets/append-queue-port'

/**
 * The embedded append path: batches go straight to this process's appender, whose
 * dataset writer serializes appends per dataset. Datasets are appended concurrently.
 */
export function createInProcessAppendQueue(): DatasetAppendQueue {
  let handler: DatasetAppendHandler | undefined
  return {
    consume(h) {
      if (handler) throw new Error('the append queue already has its appender')
      handler = h
    },
    async start() {
      if (!handler) throw new Error('the in-process append queue needs its appender before start')
    },
    async shutdown() {},
    async enqueue(batches: readonly DatasetAppendBatch[]) {
      const append = handler
      if (!append) throw new Error('the append queue is not started')
      await Promise.all(batches.map((b) => append(b.datasetId, b.candidates)))
    },
  }
}
