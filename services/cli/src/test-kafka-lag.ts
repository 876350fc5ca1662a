import { Admin } from '@platformatic/kafka'

/**
 * Messages of `topic` the consumer `group` has not committed (summed over partitions):
 * the most a consumer of the group can process again after a fault, so the most spans
 * (one per message in the tests that ask) that can be stored twice. Tests read it right
 * after injecting a fault.
 */
export async function uncommittedMessages(brokers: string, topic: string, group: string): Promise<number> {
  const admin = new Admin({ clientId: 'test-lag', bootstrapBrokers: brokers.split(',') })
  try {
    const metadata = await admin.metadata({ topics: [topic] })
    const partitions = metadata.topics.get(topic)?.partitions ?? []
    const indexes = [...partitions.keys()]
    const [latest] = await admin.listOffsets({
      topics: [
        { name: topic, partitions: indexes.map((partitionIndex) => ({ partitionIndex, timestamp: -1n })) },
      ],
    })
    const [committed] = await admin.listConsumerGroupOffsets({
      groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: indexes }] }],
    })
    const committedBy = new Map(
      (committed?.topics.find((t) => t.name === topic)?.partitions ?? []).map((p) => [
        p.partitionIndex,
        p.committedOffset,
      ]),
    )
    let total = 0n
    for (const p of latest?.partitions ?? []) {
      const from = committedBy.get(p.partitionIndex) ?? -1n
      total += p.offset - (from < 0n ? 0n : from)
    }
    return Number(total)
  } finally {
    await admin.close()
  }
}
