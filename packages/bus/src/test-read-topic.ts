import { randomUUID } from 'node:crypto'
import { Consumer, stringDeserializer } from '@platformatic/kafka'

/** A record as the tests read it back. */
export interface ReadRecord {
  key: Buffer
  value: Buffer
  headers: Map<string, Buffer>
  partition: number
  offset: bigint
}

/**
 * Reads a topic from its start with a consumer group of its own, for tests: until `count`
 * records were read, or (with `quietMs`) until none came for that long, or 30 s. Each
 * record once, by partition and offset: a reader's group can rebalance while it joins (a new
 * broker's group coordinator is still loading) and fetch a record again, which would read
 * as a duplicate the code under test never wrote.
 */
export async function readTopic(
  brokers: string[],
  topic: string,
  options: { count?: number; quietMs?: number },
): Promise<ReadRecord[]> {
  const consumer = new Consumer<Buffer, Buffer, string, Buffer>({
    clientId: 'test-reader',
    groupId: `reader-${randomUUID()}`,
    bootstrapBrokers: brokers,
    deserializers: { headerKey: stringDeserializer },
  })
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
  const records = new Map<string, ReadRecord>()
  const quietMs = options.quietMs ?? 0
  let quiet: NodeJS.Timeout | undefined
  const done = new Promise<void>((resolve) => {
    const hardStop = setTimeout(resolve, 30_000)
    const finish = () => {
      clearTimeout(hardStop)
      resolve()
    }
    if (quietMs > 0) quiet = setTimeout(finish, quietMs)
    stream.on('data', (message) => {
      records.set(`${message.partition}:${message.offset}`, {
        key: message.key,
        value: message.value,
        headers: message.headers,
        partition: message.partition,
        offset: message.offset,
      })
      if (options.count !== undefined && records.size >= options.count && quietMs === 0) finish()
      if (quietMs > 0) quiet?.refresh()
    })
  })
  await done
  clearTimeout(quiet)
  await stream.close()
  await consumer.close()
  return [...records.values()]
}
