import { Admin, ConfigResourceTypes, ProduceAcks, Producer, stringSerializer } from '@platformatic/kafka'
import { applicationStampProblem, UnknownApplicationError } from '@spansift/core/application-stamp'
import type { Logger } from '@spansift/core/logger'
import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import { OtlpDecodeError } from '@spansift/core/otlp/decode-error'
import { decodeExportTraceRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { encodeExportTraceRequestProtobuf } from '@spansift/core/otlp/encode-protobuf'
import { normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import type { SpanLimits } from '@spansift/core/otlp/span-limits'
import { spansToExportRequest } from '@spansift/core/otlp/spans-to-request'
import type { WireTrace } from '@spansift/core/otlp/split-by-trace-wire'
import { retry } from '@spansift/core/retry'
import type { Span } from '@spansift/core/span-model'
import { isPermanentStorageError } from '@spansift/core/storage-errors'
import { deadLetterRecord } from './dead-letter-record.ts'
import { type ConsumerLoop, type Decoded, type RawMessage, startConsumerLoop } from './kafka-consumer-loop.ts'
import { keyPartitionHash } from './key-partition-hash.ts'
import { chunkBySize, MAX_SEND_BYTES } from './send-chunks.ts'
import { BusUnavailableError, ConsumerGroup, type SpanBatchHandler, type SpanBus } from './span-bus.ts'
import { createStallWatch, type StallWatch } from './stall-watch.ts'
import { Topic } from './topics.ts'

export interface KafkaBusOptions {
  brokers: string[]
  clientId: string
  /** Partitions of `spansift.spans` when spansift creates it. */
  partitions: number
  /** Replication factor when spansift creates topics; unset: see TopicProvisioning. */
  replicationFactor?: number | undefined
  /** `min.insync.replicas` of the topics spansift creates; unset: the brokers' default. */
  minInsyncReplicas?: number | undefined
  /** Encoded bytes accepted but not yet acknowledged by Kafka, at most; past it publish refuses (429). */
  maxInFlightBytes?: number
  /**
   * Producers publishing at once, each with one send in flight (see `drainQueue`);
   * `DEFAULT_PRODUCERS` by default.
   */
  producers?: number
  /** Produce attempts before a publish fails as unavailable (the exporter then retries). */
  produceRetries?: number
  /** A consumer hands its handler at most this many spans at once… */
  maxBatchSpans?: number
  /** …or what arrived within this time. */
  maxBatchDelayMs?: number
  /**
   * The span limits and time window a consumed record's spans must respect, as the
   * receivers apply them: a record written straight to the topic (a Collector's Kafka
   * exporter) has passed no receiver. Spans over them are left out and the record is
   * dead-lettered with the reason; the window is around the record's produce time. None:
   * ids and stamps are checked only.
   */
  spanLimits?: SpanLimits
  /** A consumer's wait after gaining a partition, so its former holder's step ends first (the consumer loop's default: 5 s). */
  handoverMs?: number
  logger: Logger
  /** The topic to use (tests isolate themselves with their own). */
  topic?: string
  deadLetterTopic?: string
  /**
   * The one consumer group that dead-letters what cannot be decoded or carries a bad
   * stamp (the span writer's); the others skip such messages, counted, so a record is
   * dead-lettered once, not once per group.
   */
  deadLetterGroup?: string
  /**
   * A consumer whose lag stays above zero while it commits nothing for this long is
   * stalled: `stalledGroups()` names it (for /readyz) and a gauge shows it. 120 s by default.
   */
  stallMs?: number
  /** Where the bus's metrics go (in-flight bytes, consumed, committed, dead-lettered, lag); nowhere by default. */
  metrics?: Metrics
}

/**
 * Producers of the span bus, each with one send in flight. Measured with
 * load-tests/bus-publish-benchmark.ts (4 closed-loop publishers of 1,000-span exports split
 * by trace, 6 partitions, own broker, the shared 2-core machine, 4 interleaved rounds),
 * acknowledged spans/s: 1 producer 144k–223k, 2 producers 168k–258k, 4 producers
 * 176k–238k (an earlier run: 1 producer 82k–181k, 4 producers 219k–275k); the client's
 * CPU per span is the same (0.21–0.26 CPU-s/100k). More producers also shorten each
 * export's wait: it need not queue behind another export's send.
 */
export const DEFAULT_PRODUCERS = 4

/** How often a consumer samples its lag (one ListOffsets request per sample), at most. */
const LAG_SAMPLE_INTERVAL_MS = 10_000
/** How long `ready()` waits for the broker's metadata answer. */
const READY_TIMEOUT_MS = 2_000

type SpanProducer = Producer<Buffer, Buffer, string, Buffer>

interface PendingSend {
  messages: Array<{ key: Buffer; value: Buffer }>
  bytes: number
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * The Kafka bus (`@platformatic/kafka`, chosen in docs/kafka-client-comparison.md).
 *
 * Publish: spans are grouped by trace, each trace one message (key = hex trace id,
 * value = OTLP protobuf with the application stamped on the resource, the Collector's
 * `otlp_proto` encoding), sent by a pool of idempotent acks=all producers, each with one
 * send in flight (the client can duplicate records when one producer has several);
 * publishes that arrive while every producer is busy ride together in the next send. A
 * publish resolves when Kafka acknowledged every message of it; memory is bounded by
 * `maxInFlightBytes`.
 * `publishEncoded` takes traces the receiver already split on the wire
 * (`splitExportTraceRequestByTrace`) into the same queue, skipping the re-encoding.
 *
 * Subscribe: one consumer per group; messages are batched (size or time), decoded and
 * handed to the handler; offsets are committed only after the handler succeeded. While
 * it fails the consumer stops fetching and retries, committing nothing. A message that
 * can never be decoded goes to the dead-letter topic with the reason.
 */
export function createKafkaBus(options: KafkaBusOptions): SpanBus {
  const topic = options.topic ?? Topic.spans
  const deadLetterTopic = options.deadLetterTopic ?? Topic.spansDeadLetter
  const maxInFlightBytes = options.maxInFlightBytes ?? 64 * 1024 * 1024
  const maxBatchSpans = options.maxBatchSpans ?? 20_000
  const maxBatchDelayMs = options.maxBatchDelayMs ?? 50
  const deadLetterGroup = options.deadLetterGroup ?? ConsumerGroup.spanWriter
  const stallMs = options.stallMs ?? 120_000
  // Often enough that a stall is seen within about a quarter of the stall time.
  const lagSampleMs = Math.max(200, Math.min(LAG_SAMPLE_INTERVAL_MS, Math.floor(stallMs / 4)))
  const stallWatches = new Map<string, StallWatch>()
  const logger = options.logger.child({ component: 'kafka-bus' })
  const handlers = new Map<string, SpanBatchHandler>()
  const consumers: Array<{ group: string; stop(): Promise<void> }> = []
  /** The publishing producers; each keeps at most one send in flight (see `drainQueue`). */
  const producers: SpanProducer[] = []
  const idleProducers: SpanProducer[] = []
  const producerCount = options.producers ?? DEFAULT_PRODUCERS
  let accepting = false
  let inFlightBytes = 0
  const queue: PendingSend[] = []
  const metrics = options.metrics ?? noopMetrics
  const inFlightGauge = metrics.gauge({
    name: 'spansift_bus_in_flight_bytes',
    help: 'Encoded bytes published to Kafka and not yet acknowledged.',
  })
  const produced = metrics.counter({
    name: 'spansift_kafka_messages_produced_total',
    help: 'Messages (one per trace) Kafka acknowledged.',
  })
  const consumed = metrics.counter({
    name: 'spansift_kafka_messages_consumed_total',
    help: 'Messages read from the spans topic, by consumer group.',
    labelNames: ['group'],
  })
  const committed = metrics.counter({
    name: 'spansift_kafka_batches_committed_total',
    help: 'Consumer batches handled and committed, by consumer group.',
    labelNames: ['group'],
  })
  const deadLetteredCount = metrics.counter({
    name: 'spansift_kafka_dead_lettered_total',
    help: 'Messages sent to the dead-letter topic, by consumer group.',
    labelNames: ['group'],
  })
  const lagGauge = metrics.gauge({
    name: 'spansift_kafka_consumer_lag_messages',
    help: `Messages on the spans topic not yet committed by this process's consumer, summed over its assigned partitions, by group (sampled every ${lagSampleMs / 1000} s).`,
    labelNames: ['group'],
  })
  const skipped = metrics.counter({
    name: 'spansift_kafka_messages_skipped_total',
    help: 'Messages a consumer group skipped because they cannot be processed (the dead-letter group sends them to the dead-letter topic), by group.',
    labelNames: ['group'],
  })
  const stalledGauge = metrics.gauge({
    name: 'spansift_kafka_consumer_stalled',
    help: '1 while a consumer group of this process has lag and committed nothing for SPANSIFT_CONSUMER_STALL_SECONDS, by group.',
    labelNames: ['group'],
  })

  function createProducer(): SpanProducer {
    return new Producer<Buffer, Buffer, string, Buffer>({
      clientId: options.clientId,
      bootstrapBrokers: options.brokers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      retries: options.produceRetries ?? 3,
      retryDelay: 500,
      serializers: { headerKey: stringSerializer },
    })
  }

  const ensureTopics = () =>
    provisionTopics(
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

  /**
   * Group commit over a pool of producers: while a producer is idle, everything queued goes
   * to it as one send (split into requests by `chunkBySize`); what arrives while every
   * producer is busy waits and rides together in the next send. Each producer keeps ONE
   * send in flight: its sequence numbers are assigned when `send()` is called, and with
   * several in flight a retried request can reach the broker after a later one, be refused
   * out of order, and be resent whole under a new producer id, duplicating what had been
   * stored (docs/kafka-client-comparison.md, note 2). Several producers are several
   * producer ids, each on its own connection, so their sends never race each other's
   * sequences.
   */
  function drainQueue(): void {
    while (queue.length > 0 && idleProducers.length > 0) {
      const client = idleProducers.pop()!
      const batch = queue.splice(0, queue.length)
      void sendBatch(client, batch).finally(() => {
        idleProducers.push(client)
        drainQueue()
      })
    }
  }

  /** Sends one batch of publishes on one producer; each publish resolves (or rejects) with it. */
  async function sendBatch(client: SpanProducer, batch: PendingSend[]): Promise<void> {
    try {
      // The client's default partitioning, hashed here once and in 32-bit arithmetic (see
      // keyPartitionHash): the client takes it modulo the partitions.
      const messages = batch.flatMap((pending) =>
        pending.messages.map((m) => ({
          topic,
          key: m.key,
          value: m.value,
          partition: keyPartitionHash(m.key),
        })),
      )
      // The partitions in the client's metadata (refreshed every 5 s; unknown before the first
      // send: then one bound for all). Right after partitions are added a batch may exceed the
      // bound; the broker then refuses it as too large, the publish is answered 503 and retried.
      const partitions = client.currentMetadata?.topics.get(topic)?.partitionsCount ?? 1
      const partitionOf = (m: (typeof messages)[number]) => m.partition % partitions
      for (const chunk of chunkBySize(messages, MAX_SEND_BYTES, partitionOf))
        await client.send({ messages: chunk })
      for (const pending of batch) pending.resolve()
      produced.inc(
        undefined,
        batch.reduce((sum, pending) => sum + pending.messages.length, 0),
      )
    } catch (error) {
      logger.warn('Kafka did not acknowledge a send; answering retryable', {
        messages: batch.length,
        error,
      })
      const unavailable = new BusUnavailableError(
        'unavailable',
        'Kafka did not acknowledge the spans; retry later',
        2,
      )
      for (const pending of batch) pending.reject(unavailable)
    } finally {
      for (const pending of batch) inFlightBytes -= pending.bytes
      inFlightGauge.set(inFlightBytes)
    }
  }

  function subscribeGroup(group: string, handler: SpanBatchHandler) {
    const deadLetters: SpanProducer = createProducer()
    let loop: ConsumerLoop | undefined

    async function toDeadLetter(message: RawMessage, reason: string): Promise<void> {
      await deadLetters.send({
        messages: [deadLetterRecord(message, reason, deadLetterTopic, group)],
      })
      deadLetteredCount.inc({ group })
      logger.warn('message sent to the dead-letter topic', {
        group,
        partition: message.partition,
        offset: message.offset,
        reason,
      })
    }

    /** One message, one trace: its spans, and the dead-letter reason when some or all cannot be taken. */
    function decodeMessage(message: RawMessage): Decoded<Span> {
      try {
        const request = decodeExportTraceRequestProtobuf(message.value)
        const { spans, rejectionMessage } = normalizeExportTraceRequest(request, {
          ...(options.spanLimits ? { limits: options.spanLimits } : {}),
          nowMs: Number(message.timestamp),
        })
        const reasons = rejectionMessage === '' ? [] : [rejectionMessage]
        // A stamp that is not a UUID would make storage refuse the whole insert.
        const stamped = spans.filter((span) => applicationStampProblem(span.applicationId) === undefined)
        if (stamped.length < spans.length) {
          const bad = spans.find((span) => applicationStampProblem(span.applicationId) !== undefined)!
          const count = spans.length - stamped.length
          reasons.push(
            `${count} ${count === 1 ? 'span' : 'spans'} rejected: ${applicationStampProblem(bad.applicationId)}`,
          )
        }
        return reasons.length > 0 ? { items: stamped, deadLetter: reasons.join('; ') } : { items: spans }
      } catch (error) {
        const reason =
          error instanceof OtlpDecodeError ? `undecodable: ${error.message}` : `failed: ${String(error)}`
        return { items: [], deadLetter: reason }
      }
    }

    // Only the dead-letter group dead-letters; the others take what they can and count the rest.
    const decode =
      group === deadLetterGroup
        ? decodeMessage
        : (message: RawMessage): Decoded<Span> => {
            const decoded = decodeMessage(message)
            if (decoded.deadLetter === undefined) return decoded
            skipped.inc({ group })
            return { items: decoded.items }
          }
    const watch = createStallWatch({ stallMs })
    stallWatches.set(group, watch)

    return {
      group,
      async start() {
        loop = startConsumerLoop<Span>({
          brokers: options.brokers,
          clientId: options.clientId,
          group,
          topic,
          decode,
          handle: (spans) => handler(spans),
          // Refused data (storage, or an unknown application) is isolated and dead-lettered.
          isPermanent: (error) => isPermanentStorageError(error) || error instanceof UnknownApplicationError,
          deadLetter: toDeadLetter,
          maxBatchItems: maxBatchSpans,
          maxBatchDelayMs,
          ...(options.handoverMs === undefined ? {} : { handoverMs: options.handoverMs }),
          logger,
          onConsumed: () => consumed.inc({ group }),
          onCommitted: () => {
            committed.inc({ group })
            watch.progressed()
          },
          onConsumerStarted: (consumer) => {
            consumer.on('consumer:lag', (lag) => {
              let total = 0n
              for (const partitionLag of lag.get(topic) ?? []) if (partitionLag > 0n) total += partitionLag
              lagGauge.set(Number(total), { group })
              watch.lag(Number(total))
              stalledGauge.set(watch.stalled() ? 1 : 0, { group })
            })
            consumer.startLagMonitoring({ topics: [topic] }, lagSampleMs)
          },
          onConsumerStopping: (consumer) => consumer.stopLagMonitoring(),
        })
        consumers.push({
          group,
          async stop() {
            await loop?.stop()
            await deadLetters.close()
            stallWatches.delete(group)
          },
        })
      },
    }
  }

  return {
    subscribe(group, handler) {
      if (handlers.has(group)) throw new Error(`group ${group} is already subscribed`)
      handlers.set(group, handler)
    },
    async start() {
      await ensureTopics()
      for (let i = 0; i < producerCount; i++) producers.push(createProducer())
      idleProducers.push(...producers)
      for (const [group, handler] of handlers) await subscribeGroup(group, handler).start()
      accepting = true
      logger.info('Kafka bus started', { brokers: options.brokers, topic, groups: [...handlers.keys()] })
    },
    stalledGroups() {
      const stalled: string[] = []
      for (const [group, watch] of stallWatches) {
        const isStalled = watch.stalled()
        stalledGauge.set(isStalled ? 1 : 0, { group })
        if (isStalled) stalled.push(group)
      }
      return stalled
    },
    async ready() {
      const client = producers[0]
      if (!accepting || !client) return false
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS)
      })
      // A metadata round trip to a broker: cheap, and it fails when no broker answers.
      const answer = client.metadata({ topics: [topic], forceUpdate: true }).then(
        () => true,
        () => false,
      )
      try {
        return await Promise.race([answer, timeout])
      } finally {
        clearTimeout(timer)
      }
    },
    async shutdown() {
      accepting = false
      // Queued publishes and sends in flight (a producer not idle) finish first, bounded.
      const sending = () => queue.length > 0 || idleProducers.length < producers.length
      for (let waited = 0; sending() && waited < 30_000; waited += 20) {
        await new Promise((r) => setTimeout(r, 20))
      }
      for (const { stop } of consumers.splice(0)) await stop()
      for (const client of producers.splice(0)) await client.close()
      idleProducers.length = 0
    },
    publish(spans: readonly Span[]): Promise<void> {
      if (spans.length === 0) return accepting ? Promise.resolve() : notAccepting()
      return enqueue(encodeTraces(spans))
    },
    publishEncoded(traces: readonly WireTrace[]): Promise<void> {
      if (traces.length === 0) return accepting ? Promise.resolve() : notAccepting()
      return enqueue(traces.map((trace) => ({ key: Buffer.from(trace.traceId), value: trace.value })))
    },
  }

  function notAccepting(): Promise<void> {
    return Promise.reject(
      new BusUnavailableError('unavailable', 'spansift is not accepting spans (starting or stopping)'),
    )
  }

  /** Queues one publish's records (one per trace) for the producer; resolves once Kafka acknowledged them all. */
  function enqueue(messages: Array<{ key: Buffer; value: Buffer }>): Promise<void> {
    if (!accepting) return notAccepting()
    const bytes = messages.reduce((sum, m) => sum + m.value.byteLength, 0)
    if (inFlightBytes > 0 && inFlightBytes + bytes > maxInFlightBytes) {
      return Promise.reject(
        new BusUnavailableError(
          'overloaded',
          `too many bytes waiting for Kafka (${inFlightBytes}); retry later`,
        ),
      )
    }
    inFlightBytes += bytes
    inFlightGauge.set(inFlightBytes)
    return new Promise<void>((resolve, reject) => {
      queue.push({ messages, bytes, resolve, reject })
      void drainQueue()
    })
  }
}

/** One message per trace: key = hex trace id, value = that trace's spans as OTLP protobuf. */
export function encodeTraces(spans: readonly Span[]): Array<{ key: Buffer; value: Buffer }> {
  const byTrace = new Map<string, Span[]>()
  for (const span of spans) {
    const list = byTrace.get(span.traceId)
    if (list) list.push(span)
    else byTrace.set(span.traceId, [span])
  }
  const messages: Array<{ key: Buffer; value: Buffer }> = []
  for (const [traceId, traceSpans] of byTrace) {
    const bytes = encodeExportTraceRequestProtobuf(spansToExportRequest(traceSpans))
    messages.push({
      key: Buffer.from(traceId),
      value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    })
  }
  return messages
}

/** How spansift creates its topics (the spans topic, its dead-letter topic, …). */
export interface TopicProvisioning {
  brokers: string[]
  clientId: string
  topics: readonly string[]
  /** Partitions of each topic spansift creates. */
  partitions: number
  /**
   * Replicas of each partition. Unset: min(3, the brokers in the cluster's metadata), so
   * a production cluster gets 3 without configuration and a one-broker development
   * broker gets 1 (an explicit 3 would be refused there). Set it where the brokers
   * seen at first start may be fewer than the cluster will have.
   */
  replicationFactor?: number | undefined
  /** The topics' `min.insync.replicas` (at most the replication factor). Unset: the brokers' default. */
  minInsyncReplicas?: number | undefined
}

/** The replication factor spansift aims for when none is configured (production: 3). */
export const DEFAULT_REPLICATION_FACTOR = 3

/**
 * Creates the topics that do not exist, with the configured partitions, replication
 * factor and min.insync.replicas, and waits until every partition has a leader. A topic
 * that exists is left as it is (adding partitions would move keys, that is traces and
 * datasets, to other partitions while consumers own them: that is an operator's call),
 * but what differs from the configuration is logged as a warning: fewer partitions than
 * configured, another replication factor, another min.insync.replicas. Refuses a
 * replication factor larger than the cluster, or a min.insync.replicas larger than the
 * replication factor (acks=all producers could never write).
 */
export async function provisionTopics(options: TopicProvisioning, logger: Logger): Promise<void> {
  const wanted = [...options.topics]
  const admin = new Admin({ clientId: `${options.clientId}-admin`, bootstrapBrokers: options.brokers })
  try {
    const cluster = await admin.metadata({ topics: [], forceUpdate: true, autocreateTopics: false })
    const brokers = cluster.brokers.size
    const replicationFactor = options.replicationFactor ?? Math.min(DEFAULT_REPLICATION_FACTOR, brokers)
    const minInsync = options.minInsyncReplicas
    if (minInsync !== undefined && minInsync > replicationFactor) {
      throw new Error(
        `min.insync.replicas ${minInsync} exceeds the replication factor ${replicationFactor} of the Kafka topics: acks=all producers could never write`,
      )
    }
    const existing = new Set(await admin.listTopics())
    const missing = wanted.filter((name) => !existing.has(name))
    if (missing.length > 0) {
      if (replicationFactor > brokers) {
        throw new Error(
          `Kafka topics ${missing.join(', ')} need ${replicationFactor} replicas, but the cluster has ${brokers} broker(s)`,
        )
      }
      try {
        await admin.createTopics({
          topics: missing,
          partitions: options.partitions,
          replicas: replicationFactor,
          configs: minInsync === undefined ? [] : [{ name: 'min.insync.replicas', value: String(minInsync) }],
        })
        logger.info('topics created', {
          topics: missing,
          partitions: options.partitions,
          replication_factor: replicationFactor,
          min_insync_replicas: minInsync,
        })
      } catch (error) {
        // Another process may have created them first; that is fine if they now exist.
        const now = new Set(await admin.listTopics())
        if (!missing.every((name) => now.has(name))) throw error
      }
    }
    // Topics exist before their partitions have leaders; wait (about 30 s at most) until every one has.
    const metadata = await retry(
      async () => {
        const answer = await admin.metadata({ topics: wanted, forceUpdate: true })
        const ready = wanted.every((name) => {
          const partitions = answer.topics.get(name)?.partitions ?? []
          return partitions.length > 0 && partitions.every((p) => p.leader >= 0)
        })
        if (!ready) throw new Error(`Kafka topics ${wanted.join(', ')} have no leaders after 30 s`)
        return answer
      },
      { retries: 40, minDelayMs: 50, maxDelayMs: 1_000 },
    )
    const created = new Set(missing)
    const present = wanted.filter((name) => !created.has(name))
    await reportDifferences(admin, metadata.topics, present, options, replicationFactor, logger)
  } finally {
    await admin.close()
  }
}

/** Warns about each existing topic that is not what the configuration would create. */
async function reportDifferences(
  admin: Admin,
  topics: Map<string, { partitions: Array<{ replicas: number[] }> }>,
  names: readonly string[],
  options: TopicProvisioning,
  replicationFactor: number,
  logger: Logger,
): Promise<void> {
  if (names.length === 0) return
  const configs = await admin.describeConfigs({
    resources: names.map((name) => ({
      resourceType: ConfigResourceTypes.TOPIC,
      resourceName: name,
      configurationKeys: ['min.insync.replicas'],
    })),
  })
  for (const name of names) {
    const partitions = topics.get(name)?.partitions ?? []
    const replicas = Math.min(...partitions.map((p) => p.replicas.length))
    if (partitions.length < options.partitions) {
      logger.warn('Kafka topic has fewer partitions than configured; it is used as it is', {
        topic: name,
        partitions: partitions.length,
        configured_partitions: options.partitions,
        hint: 'add partitions with kafka-topics.sh --alter --partitions (keys then move to other partitions)',
      })
    }
    // Configured: any difference; unset: fewer replicas than spansift would create now.
    const configured = options.replicationFactor
    if (configured === undefined ? replicas < replicationFactor : replicas !== configured) {
      logger.warn('Kafka topic has another replication factor than configured; it is used as it is', {
        topic: name,
        replication_factor: replicas,
        configured_replication_factor: replicationFactor,
      })
    }
    const minInsync = configs
      .find((c) => c.resourceName === name)
      ?.configs.find((c) => c.name === 'min.insync.replicas')?.value
    if (options.minInsyncReplicas !== undefined && minInsync !== String(options.minInsyncReplicas)) {
      logger.warn('Kafka topic has another min.insync.replicas than configured; it is used as it is', {
        topic: name,
        min_insync_replicas: minInsync === null || minInsync === undefined ? undefined : Number(minInsync),
        configured_min_insync_replicas: options.minInsyncReplicas,
      })
    }
  }
}
