import { createRequire } from 'node:module'
import type { IHeaders, LogEntry } from 'kafkajs'
import kafkajs from 'kafkajs'
import { errorMessage } from '../util.ts'
import type {
  ClientAdapter,
  ConsumerHandle,
  ConsumerOptions,
  InMessage,
  ProducerHandle,
  ProducerOptions,
} from './types.ts'

const { Kafka, Partitioners, logLevel } = kafkajs
const version = (createRequire(import.meta.url)('kafkajs/package.json') as { version: string }).version

function headersToBuffers(headers: IHeaders | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {}
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue
    const first = Array.isArray(v) ? v[0] : v
    if (first !== undefined) out[k] = Buffer.isBuffer(first) ? first : Buffer.from(first)
  }
  return out
}

export function createKafkajsAdapter(brokers: string[], log: (line: string) => void): ClientAdapter {
  const logCreator = () => (entry: LogEntry) => {
    const { message, error } = entry.log as { message?: string; error?: string }
    log(`kafkajs ${entry.label} [${entry.namespace}] ${message ?? ''}${error ? `: ${error}` : ''}`)
  }
  const kafka = new Kafka({
    clientId: 'spansift-compare',
    brokers,
    logLevel: logLevel.WARN,
    logCreator,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
  })
  const admin = kafka.admin()
  let adminConnected: Promise<void> | undefined
  const adminReady = () => {
    adminConnected ??= admin.connect()
    return adminConnected
  }

  return {
    name: 'kafkajs',
    version,

    async createTopic(topic, partitions, waitForLeaders = true) {
      await adminReady()
      const created = await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
        waitForLeaders,
        timeout: 30_000,
      })
      if (!created) throw new Error(`createTopics returned false: ${topic} already exists`)
    },

    async partitionCount(topic) {
      await adminReady()
      const md = await admin.fetchTopicMetadata({ topics: [topic] })
      return md.topics.find((t) => t.name === topic)?.partitions.length ?? 0
    },

    async endOffsets(topic) {
      await adminReady()
      const res = await admin.fetchTopicOffsets(topic)
      return new Map(res.map((p) => [p.partition, BigInt(p.high)]))
    },

    async committedOffsets(groupId, topic) {
      await adminReady()
      const res = await admin.fetchOffsets({ groupId, topics: [topic] })
      const out = new Map<number, bigint>()
      for (const p of res.find((t) => t.topic === topic)?.partitions ?? []) {
        const off = BigInt(p.offset)
        if (off >= 0n) out.set(p.partition, off)
      }
      return out
    },

    async deleteTopic(topic) {
      await adminReady()
      await admin.deleteTopics({ topics: [topic], timeout: 30_000 })
    },

    async createProducer(options: ProducerOptions): Promise<ProducerHandle> {
      const producer = kafka.producer({
        idempotent: true,
        // kafkajs keeps sequence numbers correct only with one in-flight request.
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner, // murmur2 on the key, like Java
        ...(options.retries === undefined ? {} : { retry: { retries: options.retries } }),
      })
      await producer.connect()
      return {
        async send(topic, messages) {
          await producer.send({
            topic,
            acks: -1,
            messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
          })
        },
        close: () => producer.disconnect(),
      }
    },

    async createConsumer(options: ConsumerOptions): Promise<ConsumerHandle> {
      if ((options.protocol ?? 'classic') !== 'classic') {
        throw new Error('kafkajs implements only the classic group protocol (no KIP-848 "consumer" protocol)')
      }
      const { topic, onBatch } = options
      const consumer = kafka.consumer({
        groupId: options.groupId,
        sessionTimeout: 10_000,
        rebalanceTimeout: 20_000,
        heartbeatInterval: 1000,
        maxWaitTimeInMs: 500,
      })
      const errors: string[] = []
      let assigned: number[] = []
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        assigned = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b)
      })
      consumer.on(consumer.events.CRASH, (e) => {
        errors.push(`crash: ${errorMessage(e.payload.error)}`)
      })
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: options.fromBeginning })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return
          const messages: InMessage[] = batch.messages.map((m) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: BigInt(m.offset),
            key: m.key,
            value: m.value,
            headers: headersToBuffers(m.headers),
          }))
          const processed = await onBatch(messages)
          const last = processed > 0 ? messages[processed - 1] : undefined
          if (last) {
            resolveOffset(String(last.offset))
            try {
              await consumer.commitOffsets([
                { topic: batch.topic, partition: batch.partition, offset: String(last.offset + 1n) },
              ])
            } catch (err) {
              errors.push(`commit: ${errorMessage(err)}`)
              throw err
            }
          }
          await heartbeat()
        },
      })
      return {
        assigned: () => assigned,
        errors,
        close: () => consumer.disconnect(),
      }
    },

    async close() {
      if (adminConnected) await admin.disconnect()
    },
  }
}
