import { Consumer, type Message, type MessagesStream, stringDeserializer } from '@platformatic/kafka'
import type { Logger } from '@spansift/core/logger'

type RawMessage = Message<Buffer, Buffer, string, Buffer>
type RawStream = MessagesStream<Buffer, Buffer, string, Buffer>

export interface ConsumerLoopOptions<T> {
  brokers: string[]
  clientId: string
  group: string
  topic: string
  /** Turns a message into items; throws when it can never be processed (the message is then skipped and logged). */
  decode(message: RawMessage): T[]
  /** Processes one batch; resolving means done. Rejections are retried with backoff, nothing committed. */
  handle(items: T[]): Promise<void>
  /** A batch is handed over at this many items… */
  maxBatchItems: number
  /** …or after this long. */
  maxBatchDelayMs: number
  logger: Logger
  /** Called per message read (metrics). */
  onConsumed?: () => void
  /** Called per committed batch (metrics). */
  onCommitted?: () => void
}

export interface ConsumerLoop {
  stop(): Promise<void>
}

/**
 * One consumer group member that never gives up: it batches messages (size or time),
 * hands them to `handle`, and commits offsets only after `handle` succeeded (retrying
 * the batch with backoff meanwhile, fetching nothing). When its stream fails (a broker
 * outage outlasting the client's own retries), the consumer is rebuilt and rejoins the
 * group from the last commit, so processing is at least once and handlers are idempotent.
 */
export function startConsumerLoop<T>(options: ConsumerLoopOptions<T>): ConsumerLoop {
  const { group, topic, logger } = options
  let buffered: RawMessage[] = []
  let items: T[] = []
  let timer: NodeJS.Timeout | undefined
  let flushing: Promise<void> | undefined
  let stopped = false
  let current:
    | { consumer: Consumer<Buffer, Buffer, string, Buffer>; stream: RawStream | undefined }
    | undefined

  async function flush(stream: RawStream): Promise<void> {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (buffered.length === 0) return
    const messages = buffered
    const batch = items
    buffered = []
    items = []
    stream.pause()
    for (let attempt = 1; batch.length > 0; attempt++) {
      try {
        await options.handle(batch)
        break
      } catch (error) {
        if (stopped) return // nothing committed: redelivered after restart
        const delay = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6))
        logger.warn('batch handler failed; holding the batch and retrying', { group, attempt, delay, error })
        await new Promise((r) => setTimeout(r, delay))
      }
    }
    const lastByPartition = new Map<number, RawMessage>()
    for (const message of messages) lastByPartition.set(message.partition, message)
    try {
      await Promise.all([...lastByPartition.values()].map((message) => message.commit()))
      options.onCommitted?.()
    } catch (error) {
      // The partitions moved to another member, or the connection died: the next reader
      // starts from the last commit and processes this batch again, idempotently.
      logger.warn('offset commit failed; the messages will be redelivered', { group, error })
    }
    if (!stopped) stream.resume()
  }

  function startFlush(stream: RawStream): void {
    flushing = flush(stream).finally(() => {
      flushing = undefined
    })
  }

  function receive(stream: RawStream, message: RawMessage): void {
    buffered.push(message)
    options.onConsumed?.()
    try {
      for (const item of options.decode(message)) items.push(item)
    } catch (error) {
      logger.error('message cannot be processed; skipped', {
        group,
        partition: message.partition,
        offset: message.offset,
        error,
      })
    }
    if (items.length >= options.maxBatchItems) startFlush(stream)
    else if (!timer) timer = setTimeout(() => startFlush(stream), options.maxBatchDelayMs)
  }

  async function consumeUntilEnd(): Promise<unknown> {
    const consumer = new Consumer<Buffer, Buffer, string, Buffer>({
      clientId: `${options.clientId}-${group}`,
      groupId: group,
      bootstrapBrokers: options.brokers,
      autocommit: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      deserializers: { headerKey: stringDeserializer },
    })
    current = { consumer, stream: undefined }
    let stream: RawStream
    try {
      stream = await consumer.consume({
        topics: [topic],
        autocommit: false,
        mode: 'committed',
        fallbackMode: 'earliest',
      })
    } catch (error) {
      current = undefined
      await consumer.close(true).catch(() => undefined)
      return error
    }
    current = { consumer, stream }
    if (stopped) {
      current = undefined
      await stream.close().catch(() => undefined)
      await consumer.close(true).catch(() => undefined)
      return undefined
    }
    const ended = new Promise<unknown>((resolve) => {
      stream.once('error', resolve)
      stream.once('close', () => resolve(undefined))
    })
    stream.on('data', (message: RawMessage) => receive(stream, message))
    const reason = await ended
    if (timer) clearTimeout(timer)
    timer = undefined
    await flushing
    buffered = []
    items = []
    current = undefined
    await stream.close().catch(() => undefined)
    await consumer.close(true).catch(() => undefined)
    return reason
  }

  const loop = (async () => {
    for (let attempt = 0; !stopped; attempt++) {
      const reason = await consumeUntilEnd()
      if (stopped) return
      const delay = Math.min(5_000, 250 * 2 ** Math.min(attempt, 5))
      logger.warn('consumer ended; rejoining the group', { group, delay, error: reason })
      await new Promise((r) => setTimeout(r, delay))
    }
  })()

  return {
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await flushing
      if (current?.stream) await current.stream.close().catch(() => undefined)
      else await current?.consumer.close(true).catch(() => undefined)
      await loop
    },
  }
}
