import { ProduceAcks, Producer, stringSerializer } from '@platformatic/kafka'
import type { AppendCandidate } from '@spansift/core/datasets/append-candidate'
import type {
  DatasetAppendBatch,
  DatasetAppendHandler,
  DatasetAppendQueue,
} from '@spansift/core/datasets/append-queue-port'
import type { MappedRow, Priority, SourceKind } from '@spansift/core/datasets/dataset-model'
import type { Logger } from '@spansift/core/logger'
import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import { provisionTopics } from './kafka-bus.ts'
import { type ConsumerLoop, startConsumerLoop } from './kafka-consumer-loop.ts'
import { chunkBySize } from './send-chunks.ts'
import { Topic } from './topics.ts'

export interface KafkaAppendQueueOptions {
  brokers: string[]
  clientId: string
  /** Partitions of the topic when spansift creates it: the most appenders that can work at once. */
  partitions: number
  /** Unset: min(3, brokers), as for the spans topic (see provisionTopics). */
  replicationFactor?: number | undefined
  minInsyncReplicas?: number | undefined
  topic?: string
  /** The appenders' consumer group (tests isolate themselves); DATASET_APPENDER_GROUP by default. */
  group?: string
  logger: Logger
  metrics?: Metrics
}

/** The consumer group of the appenders (they run in the rule-worker role). */
export const DATASET_APPENDER_GROUP = 'spansift-dataset-appender'

/** One candidate on the wire (JSON; the span start as a decimal string: it is an int64). */
interface WireCandidate {
  dataset_id: string
  application_id: string
  trace_id: string
  span_id: string
  span_start_unix_nano: string
  source_kind: SourceKind
  rule_id: string | null
  row: MappedRow
  inputs_hash: string
  defaults?: { priority: Priority | null; feedback_category: string | null; labels: string[] }
  redacted_fields?: string[]
}

function toWire(datasetId: string, c: AppendCandidate): WireCandidate {
  return {
    dataset_id: datasetId,
    application_id: c.applicationId,
    trace_id: c.traceId,
    span_id: c.spanId,
    span_start_unix_nano: c.spanStartUnixNano.toString(),
    source_kind: c.sourceKind,
    rule_id: c.ruleId,
    row: c.row,
    inputs_hash: c.inputsHash,
    ...(c.defaults
      ? {
          defaults: {
            priority: c.defaults.priority,
            feedback_category: c.defaults.feedbackCategory,
            labels: c.defaults.labels,
          },
        }
      : {}),
    ...(c.redactedFields ? { redacted_fields: c.redactedFields } : {}),
  }
}

function fromWire(w: WireCandidate): { datasetId: string; candidate: AppendCandidate } {
  return {
    datasetId: w.dataset_id,
    candidate: {
      applicationId: w.application_id,
      traceId: w.trace_id,
      spanId: w.span_id,
      spanStartUnixNano: BigInt(w.span_start_unix_nano),
      sourceKind: w.source_kind,
      ruleId: w.rule_id,
      row: w.row,
      inputsHash: w.inputs_hash,
      ...(w.defaults
        ? {
            defaults: {
              priority: w.defaults.priority,
              feedbackCategory: w.defaults.feedback_category,
              labels: w.defaults.labels,
            },
          }
        : {}),
      ...(w.redacted_fields ? { redactedFields: w.redacted_fields } : {}),
    },
  }
}

/**
 * The distributed append path: rule workers produce each match as one message keyed by
 * its dataset id to `spansift.dataset-appends`, so every row of a dataset lands in one
 * partition and one appender (the group member owning it) appends them in order: the
 * dataset's cap holds exactly however many rule workers match. Delivery is at least once;
 * a redelivered candidate is the same item id, so nothing is appended twice.
 */
export function createKafkaAppendQueue(options: KafkaAppendQueueOptions): DatasetAppendQueue {
  const topic = options.topic ?? Topic.datasetAppends
  const logger = options.logger.child({ component: 'kafka-append-queue' })
  const metrics = options.metrics ?? noopMetrics
  const produced = metrics.counter({
    name: 'spansift_dataset_appends_enqueued_total',
    help: 'Rule matches Kafka acknowledged on the dataset-appends topic.',
  })
  let handler: DatasetAppendHandler | undefined
  let producer: Producer<Buffer, Buffer, string, Buffer> | undefined
  let loop: ConsumerLoop | undefined
  // One send in flight (the client can duplicate records with several); later sends queue.
  let sending: Promise<unknown> = Promise.resolve()

  async function appendBatch(items: Array<{ datasetId: string; candidate: AppendCandidate }>): Promise<void> {
    const byDataset = new Map<string, AppendCandidate[]>()
    for (const { datasetId, candidate } of items) {
      const list = byDataset.get(datasetId)
      if (list) list.push(candidate)
      else byDataset.set(datasetId, [candidate])
    }
    const append = handler!
    await Promise.all([...byDataset].map(([datasetId, candidates]) => append(datasetId, candidates)))
  }

  return {
    consume(h) {
      if (handler) throw new Error('the append queue already has its appender')
      handler = h
    },
    async start() {
      await provisionTopics(
        {
          brokers: options.brokers,
          clientId: options.clientId,
          topics: [topic],
          partitions: options.partitions,
          replicationFactor: options.replicationFactor,
          minInsyncReplicas: options.minInsyncReplicas,
        },
        logger,
      )
      producer = new Producer<Buffer, Buffer, string, Buffer>({
        clientId: options.clientId,
        bootstrapBrokers: options.brokers,
        idempotent: true,
        acks: ProduceAcks.ALL,
        retries: 3,
        retryDelay: 500,
        serializers: { headerKey: stringSerializer },
      })
      if (handler) {
        loop = startConsumerLoop({
          brokers: options.brokers,
          clientId: options.clientId,
          group: options.group ?? DATASET_APPENDER_GROUP,
          topic,
          decode: (message) => ({
            items: [fromWire(JSON.parse(message.value.toString('utf8')) as WireCandidate)],
          }),
          handle: appendBatch,
          maxBatchItems: 2_000,
          maxBatchDelayMs: 50,
          logger,
        })
      }
    },
    async shutdown() {
      await sending.catch(() => undefined)
      await loop?.stop()
      loop = undefined
      await producer?.close()
      producer = undefined
    },
    async enqueue(batches: readonly DatasetAppendBatch[]) {
      const client = producer
      if (!client) throw new Error('the append queue is not started')
      const messages = batches.flatMap((b) =>
        b.candidates.map((c) => ({
          topic,
          key: Buffer.from(b.datasetId),
          value: Buffer.from(JSON.stringify(toWire(b.datasetId, c))),
        })),
      )
      if (messages.length === 0) return
      const send = sending
        .catch(() => undefined)
        .then(async () => {
          for (const chunk of chunkBySize(messages)) await client.send({ messages: chunk })
        })
      sending = send
      await send
      produced.inc(undefined, messages.length)
    },
  }
}
