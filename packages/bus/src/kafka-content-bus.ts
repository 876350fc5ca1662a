import { ProduceAcks, Producer, stringSerializer } from '@platformatic/kafka'
import { UnknownApplicationError } from '@spansift/core/application-stamp'
import type { Logger } from '@spansift/core/logger'
import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import { contentEventsToExportRequest } from '@spansift/core/otlp/content-events-to-request'
import { OtlpDecodeError } from '@spansift/core/otlp/decode-error'
import { decodeExportLogsRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { encodeExportLogsRequestProtobuf } from '@spansift/core/otlp/encode-protobuf'
import { normalizeExportLogsRequest } from '@spansift/core/otlp/normalize-logs'
import type { SpanLimits } from '@spansift/core/otlp/span-limits'
import type { SpanContentEvent } from '@spansift/core/span-content-event'
import { isPermanentStorageError } from '@spansift/core/storage-errors'
import type { ContentBatchHandler, ContentBus } from './content-bus.ts'
import { deadLetterRecord } from './dead-letter-record.ts'
import { provisionTopics } from './kafka-bus.ts'
import { type ConsumerLoop, type Decoded, type RawMessage, startConsumerLoop } from './kafka-consumer-loop.ts'
import { chunkBySize } from './send-chunks.ts'
import { BusUnavailableError } from './span-bus.ts'
import { Topic } from './topics.ts'

export interface KafkaContentBusOptions {
  brokers: string[]
  clientId: string
  partitions: number
  replicationFactor?: number | undefined
  minInsyncReplicas?: number | undefined
  /** The topic (tests isolate themselves); `spansift.logs` by default, its dead letters `<topic>.dlq`. */
  topic?: string
  /**
   * The span limits and time window a consumed record's content events must respect, as the
   * receivers apply them: a record written straight to the topic (a Collector's Kafka
   * exporter) has passed no receiver. Log records over them are left out and the record is
   * dead-lettered with the reason; the window is around the record's produce time. None:
   * ids and stamps are checked only.
   */
  spanLimits?: SpanLimits
  /** A consumer's wait after gaining a partition, so its former holder's step ends first (the consumer loop's default: 5 s). */
  handoverMs?: number
  logger: Logger
  metrics?: Metrics
}

/**
 * Content events over Kafka, on their own topic `spansift.logs`: one message per trace,
 * key = hex trace id, value = an OTLP `ExportLogsServiceRequest` in protobuf stamped with
 * `spansift.application.id` (the Collector's `otlp_proto` encoding for logs, so a stock
 * Collector with a resource processor adding the stamp can feed the topic). Consumers keep
 * the GenAI content events and skip other records (a Collector sends every log); a message
 * that cannot be decoded, or whose GenAI events cannot be tied to a span or an application,
 * goes to `<topic>.dlq` with the reason. Offsets are committed after the handler stored the
 * batch (`startConsumerLoop`).
 */
export function createKafkaContentBus(options: KafkaContentBusOptions): ContentBus {
  const topic = options.topic ?? Topic.logs
  const deadLetterTopic = options.topic ? `${options.topic}.dlq` : Topic.logsDeadLetter
  const logger = options.logger.child({ component: 'kafka-content-bus' })
  const metrics = options.metrics ?? noopMetrics
  const deadLettered = metrics.counter({
    name: 'spansift_kafka_logs_dead_lettered_total',
    help: 'Messages of the logs topic sent to its dead-letter topic, by consumer group.',
    labelNames: ['group'],
  })
  const handlers = new Map<string, ContentBatchHandler>()
  const loops: ConsumerLoop[] = []
  let producer: Producer<Buffer, Buffer, string, Buffer> | undefined
  // One send in flight (the client can duplicate records with several); later sends queue.
  let sending: Promise<unknown> = Promise.resolve()

  const createProducer = () =>
    new Producer<Buffer, Buffer, string, Buffer>({
      clientId: options.clientId,
      bootstrapBrokers: options.brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      retries: 3,
      retryDelay: 500,
      serializers: { headerKey: stringSerializer },
    })

  function decode(message: RawMessage): Decoded<SpanContentEvent> {
    try {
      const { events, rejectedRecords, rejectionMessage } = normalizeExportLogsRequest(
        decodeExportLogsRequestProtobuf(message.value),
        options.spanLimits ? { limits: options.spanLimits } : {},
      )
      return rejectedRecords > 0 ? { items: events, deadLetter: rejectionMessage } : { items: events }
    } catch (error) {
      const reason =
        error instanceof OtlpDecodeError ? `undecodable: ${error.message}` : `failed: ${String(error)}`
      return { items: [], deadLetter: reason }
    }
  }

  return {
    subscribe(group, handler) {
      if (handlers.has(group)) throw new Error(`group ${group} is already subscribed`)
      handlers.set(group, handler)
    },
    async start() {
      await provisionTopics(
        {
          brokers: options.brokers,
          clientId: options.clientId,
          topics: [topic, deadLetterTopic],
          partitions: options.partitions,
          replicationFactor: options.replicationFactor,
          minInsyncReplicas: options.minInsyncReplicas,
        },
        logger,
      )
      producer = createProducer()
      for (const [group, handler] of handlers) {
        const deadLetters = producer
        loops.push(
          startConsumerLoop<SpanContentEvent>({
            brokers: options.brokers,
            clientId: options.clientId,
            group,
            topic,
            decode,
            handle: (events) => handler(events),
            // Refused data (storage, or an unknown application) is isolated and dead-lettered.
            isPermanent: (error) =>
              isPermanentStorageError(error) || error instanceof UnknownApplicationError,
            async deadLetter(message, reason) {
              await deadLetters.send({
                messages: [deadLetterRecord(message, reason, deadLetterTopic, group)],
              })
              deadLettered.inc({ group })
              logger.warn('logs message sent to the dead-letter topic', {
                group,
                partition: message.partition,
                offset: message.offset,
                reason,
              })
            },
            maxBatchItems: 5_000,
            maxBatchDelayMs: 50,
            ...(options.handoverMs === undefined ? {} : { handoverMs: options.handoverMs }),
            logger,
          }),
        )
      }
    },
    async shutdown() {
      await sending.catch(() => undefined)
      for (const loop of loops.splice(0)) await loop.stop()
      await producer?.close()
      producer = undefined
    },
    async publish(events) {
      const client = producer
      if (!client)
        throw new BusUnavailableError('unavailable', 'spansift is not accepting logs (starting or stopping)')
      if (events.length === 0) return
      const messages = encodeByTrace(events).map((m) => ({ topic, ...m }))
      const send = sending
        .catch(() => undefined)
        .then(async () => {
          for (const chunk of chunkBySize(messages)) await client.send({ messages: chunk })
        })
      sending = send
      try {
        await send
      } catch (error) {
        logger.warn('Kafka did not acknowledge a logs send; answering retryable', { error })
        throw new BusUnavailableError(
          'unavailable',
          'Kafka did not acknowledge the log records; retry later',
          2,
        )
      }
    },
  }
}

/** One message per trace: key = hex trace id, value = its content events as an OTLP logs request. */
export function encodeByTrace(events: readonly SpanContentEvent[]): Array<{ key: Buffer; value: Buffer }> {
  const byTrace = new Map<string, SpanContentEvent[]>()
  for (const event of events) {
    const list = byTrace.get(event.traceId)
    if (list) list.push(event)
    else byTrace.set(event.traceId, [event])
  }
  return [...byTrace].map(([traceId, list]) => {
    const bytes = encodeExportLogsRequestProtobuf(contentEventsToExportRequest(list))
    return { key: Buffer.from(traceId), value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) }
  })
}
