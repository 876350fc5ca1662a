import { readFileSync } from 'node:fs'
import {
  Admin,
  Consumer,
  type Message,
  ProduceAcks,
  Producer,
  stringDeserializer,
  stringSerializer,
} from '@platformatic/kafka'
import { errorMessage } from '../util.ts'
import type {
  ClientAdapter,
  ConsumerHandle,
  ConsumerOptions,
  InMessage,
  ProducerHandle,
  ProducerOptions,
} from './types.ts'

// package.json is not in the package's "exports": read it beside the resolved entry (dist/index.js).
const version = (
  JSON.parse(
    readFileSync(new URL('../package.json', import.meta.resolve('@platformatic/kafka')), 'utf8'),
  ) as { version: string }
).version

/** Largest number of buffered messages handed to the handler in one go. */
const MAX_BATCH = 1000

// Keys and values stay Buffers (the default no-op serde). Header KEYS must be Buffers too
// unless a serializer says otherwise, although the TypeScript type accepts a plain
// Record<string, Buffer>: string header keys need stringSerializer/stringDeserializer.
type Msg = Message<Buffer, Buffer, string, Buffer>

function toInMessage(m: Msg): InMessage {
  const headers: Record<string, Buffer> = {}
  for (const [k, v] of m.headers) headers[k] = v
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    headers,
  }
}

export function createPlatformaticAdapter(brokers: string[], _log: (line: string) => void): ClientAdapter {
  const admin = new Admin({ clientId: 'spansift-compare-admin', bootstrapBrokers: brokers })

  return {
    name: '@platformatic/kafka',
    version,

    async createTopic(topic, partitions, waitForLeaders = true) {
      await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
      // createTopics resolves before the partitions have leaders (kafkajs can wait for them).
      const deadline = Date.now() + 15_000
      while (waitForLeaders) {
        const md = await admin.metadata({ topics: [topic], forceUpdate: true })
        const parts = md.topics.get(topic)?.partitions ?? []
        if (parts.length === partitions && parts.every((p) => p.leader >= 0)) break
        if (Date.now() > deadline) throw new Error(`partitions of ${topic} have no leader after 15 s`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },

    async partitionCount(topic) {
      const md = await admin.metadata({ topics: [topic] })
      return md.topics.get(topic)?.partitionsCount ?? 0
    },

    async endOffsets(topic) {
      const count = await this.partitionCount(topic)
      const res = await admin.listOffsets({
        topics: [
          {
            name: topic,
            partitions: Array.from({ length: count }, (_, i) => ({ partitionIndex: i, timestamp: -1n })),
          },
        ],
      })
      const out = new Map<number, bigint>()
      for (const t of res) for (const p of t.partitions) out.set(p.partitionIndex, p.offset)
      return out
    },

    async committedOffsets(groupId, topic) {
      const res = await admin.listConsumerGroupOffsets({ groups: [groupId] })
      const out = new Map<number, bigint>()
      for (const g of res) {
        for (const t of g.topics) {
          if (t.name !== topic) continue
          for (const p of t.partitions)
            if (p.committedOffset >= 0n) out.set(p.partitionIndex, p.committedOffset)
        }
      }
      return out
    },

    async deleteTopic(topic) {
      await admin.deleteTopics({ topics: [topic] })
    },

    async createProducer(options: ProducerOptions): Promise<ProducerHandle> {
      const producer = new Producer({
        clientId: options.clientId,
        bootstrapBrokers: brokers,
        idempotent: true, // forces acks=all and one in-flight request per connection
        acks: ProduceAcks.ALL,
        serializers: { headerKey: stringSerializer },
        ...(options.retries === undefined ? {} : { retries: options.retries }),
      })
      return {
        async send(topic, messages) {
          await producer.send({
            messages: messages.map((m) => ({ topic, key: m.key, value: m.value, headers: m.headers })),
          })
        },
        close: () => producer.close(),
      }
    },

    async createConsumer(options: ConsumerOptions): Promise<ConsumerHandle> {
      const { topic, onBatch } = options
      const protocol = options.protocol ?? 'classic'
      const consumer = new Consumer({
        clientId: options.clientId,
        groupId: options.groupId,
        bootstrapBrokers: brokers,
        autocommit: false,
        maxWaitTime: 500,
        deserializers: { headerKey: stringDeserializer },
        // KIP-848: session and heartbeat timing are set by the broker (group.consumer.*).
        ...(protocol === 'consumer'
          ? { groupProtocol: 'consumer' as const }
          : { sessionTimeout: 10_000, rebalanceTimeout: 20_000, heartbeatInterval: 1000 }),
      })
      const errors: string[] = []
      consumer.on('consumer:heartbeat:error', (payload) => {
        errors.push(`heartbeat: ${errorMessage(payload.error)}`)
      })

      const stream = await consumer.consume({
        topics: [topic],
        autocommit: false,
        // Resume from the group's committed offset; without one, start from the beginning or the end.
        mode: 'committed',
        fallbackMode: options.fromBeginning ? 'earliest' : 'latest',
      })
      stream.on('error', (err) => errors.push(`stream: ${errorMessage(err)}`))

      let closing = false
      const flush = async (buffered: Msg[]) => {
        const byPartition = new Map<number, Msg[]>()
        for (const m of buffered) {
          const list = byPartition.get(m.partition)
          if (list) list.push(m)
          else byPartition.set(m.partition, [m])
        }
        for (const list of byPartition.values()) {
          const processed = await onBatch(list.map(toInMessage))
          const last = processed > 0 ? list[processed - 1] : undefined
          // Message#commit commits offset + 1 for its partition.
          if (last) await last.commit()
        }
      }
      const loop = (async () => {
        let buffered: Msg[] = []
        try {
          for await (const m of stream) {
            if (closing) break
            buffered.push(m)
            if (buffered.length >= MAX_BATCH || stream.readableLength === 0) {
              const batch = buffered
              buffered = []
              await flush(batch)
            }
          }
        } catch (err) {
          if (!closing) errors.push(`consume loop: ${errorMessage(err)}`)
        }
      })()

      return {
        // Kept current by the client on every (re)join, for both group protocols.
        assigned: () => {
          const mine = consumer.assignments?.find((a) => a.topic === topic)
          return [...(mine?.partitions ?? [])].sort((a, b) => a - b)
        },
        errors,
        async close() {
          closing = true
          await stream.close()
          await loop
          await consumer.close()
        },
      }
    },

    async close() {
      await admin.close()
    },
  }
}
