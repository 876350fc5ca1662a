import { Consumer, type Message, type MessagesStream, stringDeserializer } from '@platformatic/kafka'
import type { Logger } from '@spansift/core/logger'

export type RawMessage = Message<Buffer, Buffer, string, Buffer>
export type RawConsumer = Consumer<Buffer, Buffer, string, Buffer>
type RawStream = MessagesStream<Buffer, Buffer, string, Buffer>

/** What one message yields: items for the handler, and a reason when the message must go to the dead letters. */
export interface Decoded<T> {
  items: T[]
  deadLetter?: string
}

export interface ConsumerLoopOptions<T> {
  brokers: string[]
  clientId: string
  group: string
  topic: string
  /** Turns a message into items; a throw is a message that can never be processed. */
  decode(message: RawMessage): Decoded<T>
  /** Processes one batch; resolving means done. Rejections are retried with backoff, nothing committed. */
  handle(items: T[]): Promise<void>
  /**
   * Where messages that cannot be (wholly) processed go, before the batch is handled and
   * committed; retried like the handler. Without it such messages are logged and skipped.
   */
  deadLetter?(message: RawMessage, reason: string): Promise<void>
  /** A batch is handed over at this many items… */
  maxBatchItems: number
  /** …or after this long. */
  maxBatchDelayMs: number
  logger: Logger
  /** Called per message read (metrics). */
  onConsumed?: () => void
  /** Called per committed batch (metrics). */
  onCommitted?: () => void
  /** Called when a consumer has joined the group and when it is about to close (lag monitoring). */
  onConsumerStarted?: (consumer: RawConsumer) => void
  onConsumerStopping?: (consumer: RawConsumer) => void
}

export interface ConsumerLoop {
  stop(): Promise<void>
}

/**
 * One consumer group member that never gives up: it batches messages (size or time),
 * sends what cannot be processed to the dead letters, hands the rest to `handle`, and
 * commits offsets only after both succeeded (retrying the batch with backoff meanwhile,
 * fetching nothing). When its stream fails (a broker outage outlasting the client's own
 * retries), the consumer is rebuilt and rejoins the group from the last commit, so
 * processing is at least once and handlers must be idempotent.
 */
export function startConsumerLoop<T>(options: ConsumerLoopOptions<T>): ConsumerLoop {
  const { group, topic, logger } = options
  let buffered: RawMessage[] = []
  let items: T[] = []
  let toDeadLetter: Array<{ message: RawMessage; reason: string }> = []
  let timer: NodeJS.Timeout | undefined
  let flushing: Promise<void> | undefined
  let stopped = false
  let current: { consumer: RawConsumer; stream: RawStream | undefined } | undefined

  async function flush(stream: RawStream): Promise<void> {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (buffered.length === 0) return
    const messages = buffered
    const batch = items
    const deadLetters = toDeadLetter
    buffered = []
    items = []
    toDeadLetter = []
    stream.pause()
    // Handle (and dead-letter) first, commit after: a crash in between redelivers, which
    // the handlers absorb. Nothing is committed that is neither handled nor dead-lettered.
    for (let attempt = 1; ; attempt++) {
      try {
        while (deadLetters.length > 0) {
          const { message, reason } = deadLetters[0]!
          await options.deadLetter!(message, reason)
          deadLetters.shift()
        }
        if (batch.length > 0) await options.handle(batch)
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
    let decoded: Decoded<T>
    try {
      decoded = options.decode(message)
    } catch (error) {
      decoded = { items: [], deadLetter: `failed: ${String(error)}` }
    }
    for (const item of decoded.items) items.push(item)
    if (decoded.deadLetter !== undefined) {
      if (options.deadLetter) toDeadLetter.push({ message, reason: decoded.deadLetter })
      else
        logger.error('message cannot be processed; skipped', {
          group,
          partition: message.partition,
          offset: message.offset,
          reason: decoded.deadLetter,
        })
    }
    if (items.length >= options.maxBatchItems) startFlush(stream)
    else if (!timer) timer = setTimeout(() => startFlush(stream), options.maxBatchDelayMs)
  }

  /** One consumer's life: join the group, consume until the stream fails or is closed. Resolves with why it ended. */
  async function consumeUntilEnd(): Promise<unknown> {
    const consumer: RawConsumer = new Consumer<Buffer, Buffer, string, Buffer>({
      clientId: `${options.clientId}-${group}`,
      groupId: group,
      bootstrapBrokers: options.brokers,
      autocommit: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      deserializers: { headerKey: stringDeserializer },
    })
    // A background rejoin that fails (the group rebalancing while this consumer closes, or
    // a lost membership) is emitted on the consumer, not its stream: unheard, it would
    // crash the process. It ends this consumer's life like a stream failure.
    let endWith: ((error: unknown) => void) | undefined
    consumer.on('error', (error: unknown) => {
      if (endWith) endWith(error)
      else if (!stopped) logger.warn('consumer failed while joining the group', { group, error })
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
      // Stopped while joining the group.
      current = undefined
      await stream.close().catch(() => undefined)
      await consumer.close(true).catch(() => undefined)
      return undefined
    }
    options.onConsumerStarted?.(consumer)
    const ended = new Promise<unknown>((resolve) => {
      endWith = resolve
      stream.once('error', resolve)
      stream.once('close', () => resolve(undefined))
    })
    stream.on('data', (message: RawMessage) => receive(stream, message))
    const reason = await ended
    // A running flush ends (its commit may fail); what was read but not flushed is
    // dropped: it is not committed, so the next consumer reads it again.
    if (timer) clearTimeout(timer)
    timer = undefined
    await flushing
    buffered = []
    items = []
    toDeadLetter = []
    current = undefined
    options.onConsumerStopping?.(consumer)
    await stream.close().catch(() => undefined)
    await consumer.close(true).catch(() => undefined)
    return reason
  }

  // The consumer is rebuilt whenever its stream fails, so a group never stops for good.
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
      // Ends the running consumer: its stream's close (or, while it is still joining the
      // group, the consumer's own close) ends the loop.
      if (current?.stream) await current.stream.close().catch(() => undefined)
      else await current?.consumer.close(true).catch(() => undefined)
      await loop
    },
  }
}
