import { setTimeout as sleep } from 'node:timers/promises'
import { Consumer, type Message, type MessagesStream, stringDeserializer } from '@platformatic/kafka'
import type { Logger } from '@spansift/core/logger'
import { retry } from '@spansift/core/retry'
import { isPermanentStorageError } from '@spansift/core/storage-errors'
import { createPartitionTenure, type PartitionTenure } from './partition-tenure.ts'

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
  /**
   * Processes one batch; resolving means done. A retryable rejection is retried with
   * backoff, nothing committed; a permanent one (`isPermanent`) splits the batch to find
   * the messages the handler refuses, which go to the dead letters. `lost` aborts when a
   * partition of the batch moves to another member: a handler of several steps checks it
   * before each, so the new holder never runs a step beside it.
   */
  handle(items: T[], lost: AbortSignal): Promise<void>
  /** True for a handler failure that retrying cannot cure (the data is refused). Default: `isPermanentStorageError`. */
  isPermanent?(error: unknown): boolean
  /**
   * Where messages that cannot be (wholly) processed go, before the batch is handled and
   * committed; retried like the handler. Without it such messages are logged and skipped.
   */
  deadLetter?(message: RawMessage, reason: string): Promise<void>
  /** Backoff of the handler and dead-letter retries: first delay and cap (100 ms, 5 s by default). */
  retryMinDelayMs?: number
  retryMaxDelayMs?: number
  /**
   * How long a member waits after gaining a partition before processing it, the time its
   * former holder has to finish its step (5 s by default; under the session timeout).
   */
  handoverMs?: number
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

/** One message read and not yet committed: its items, the holding it was read in, and why it must go to the dead letters. */
interface Entry<T> {
  message: RawMessage
  epoch: number
  items: T[]
  deadLetter?: string
}

/** The group's session timeout: the coordinator gives a silent member's partitions away after it. */
const SESSION_TIMEOUT_MS = 10_000
const DEFAULT_HANDOVER_MS = 5_000
/** How often a member waiting for a handover, or for its heartbeats to succeed again, looks again. */
const TENURE_POLL_MS = 100

/** Thrown into a handler's retries when a partition of its batch moves to another member. */
class PartitionLostError extends Error {
  constructor() {
    super('a partition of the batch moved to another member')
  }
}

/**
 * One consumer group member that never gives up: it batches messages (size or time),
 * sends what cannot be processed to the dead letters, hands the rest to `handle`, and
 * commits offsets only after both succeeded. A retryable failure holds the batch
 * (fetching nothing) and retries it with capped exponential backoff and jitter; a
 * permanent one splits the batch in halves until the messages the handler refuses are
 * alone, dead-letters exactly those with the reason, stores the rest and commits. When
 * its stream fails (a broker outage outlasting the client's own retries), the consumer
 * is rebuilt and rejoins the group from the last commit, so processing is at least
 * once and handlers must be idempotent.
 *
 * A partition has one holder at a time, as far as the member can tell: Kafka gives a
 * partition to its new holder as soon as the group has rebalanced, while the former
 * holder may still be in the middle of a batch. So a member processes a message only
 * while it still holds the partition it was read from (a batch drops the messages of a
 * partition it lost, and its handler is told to stop), waits `handoverMs` after gaining a
 * partition before processing it, and starts no step while a rebalance it heard of is
 * not over or while its last heartbeat is older than the session timeout less that wait.
 * Only a step that outlasts the handover time can overlap its successor's.
 */
export function startConsumerLoop<T>(options: ConsumerLoopOptions<T>): ConsumerLoop {
  const { group, topic, logger } = options
  const isPermanent = options.isPermanent ?? isPermanentStorageError
  const backoff = { minDelayMs: options.retryMinDelayMs ?? 100, maxDelayMs: options.retryMaxDelayMs ?? 5_000 }
  const handoverMs = options.handoverMs ?? DEFAULT_HANDOVER_MS
  if (!(handoverMs >= 0 && handoverMs < SESSION_TIMEOUT_MS))
    throw new RangeError(`handoverMs must be in [0, ${SESSION_TIMEOUT_MS}), got ${handoverMs}`)
  const leaseMs = SESSION_TIMEOUT_MS - handoverMs
  // One for the loop's life, so holdings' epochs never repeat across rebuilt consumers; a
  // consumer that ends releases what it held.
  const tenure: PartitionTenure = createPartitionTenure({ handoverMs, leaseMs })
  // Aborted by stop(): a held batch stops retrying and is not committed (redelivered after restart).
  const stopping = new AbortController()
  let entries: Array<Entry<T>> = []
  let bufferedItems = 0
  let timer: NodeJS.Timeout | undefined
  let flushing: Promise<void> | undefined
  let stopped = false
  let current: { consumer: RawConsumer; stream: RawStream | undefined } | undefined

  // `lost` ends the retries before the next attempt, never by abandoning one: p-retry turns
  // an attempt that succeeds after its signal aborted into a rejection, and the batch
  // would then be handled again although it was stored.
  const retrying = <R>(
    what: string,
    run: () => Promise<R>,
    lost: AbortSignal,
    shouldRetry: (error: unknown) => boolean = () => true,
  ) =>
    retry(
      async () => {
        lost.throwIfAborted()
        return run()
      },
      {
        ...backoff,
        signal: stopping.signal,
        shouldRetry: (error) => !lost.aborted && shouldRetry(error),
        onRetry: (error, attempt, delay) =>
          logger.warn(`${what} failed; holding the batch and retrying`, { group, attempt, delay, error }),
      },
    )

  // Messages this member dead-lettered, by partition and offset: a batch whose commit failed
  // (a rebalance; a new broker's coordinator not ready yet) comes back, and a message
  // already dead-lettered is not sent again. Bounded; a restarted process starts empty.
  const deadLettered = new Set<string>()
  const DEAD_LETTERED_REMEMBERED = 10_000

  async function deadLetter(message: RawMessage, reason: string, lost: AbortSignal): Promise<void> {
    const key = `${message.partition}:${message.offset}`
    if (deadLettered.has(key)) return
    if (lost.aborted) throw new PartitionLostError()
    if (!options.deadLetter) {
      logger.error('message cannot be processed; skipped', {
        group,
        partition: message.partition,
        offset: message.offset,
        reason,
      })
      return
    }
    await retrying('dead-lettering', () => options.deadLetter!(message, reason), lost)
    deadLettered.add(key)
    if (deadLettered.size > DEAD_LETTERED_REMEMBERED) {
      deadLettered.delete(deadLettered.values().next().value!)
    }
  }

  /**
   * Hands the entries' items to the handler. When it refuses them permanently, halves
   * the entries and tries each half, down to single messages, which are dead-lettered:
   * k bad messages among n cost about 2·k·log2(n) handler calls, and the good ones are
   * stored whatever their neighbours.
   */
  async function handleIsolating(part: Array<Entry<T>>, lost: AbortSignal): Promise<void> {
    const batch = part.length === 1 ? part[0]!.items : part.flatMap((entry) => entry.items)
    if (batch.length === 0) return
    if (lost.aborted) throw new PartitionLostError()
    try {
      await retrying(
        'batch handler',
        () => options.handle(batch, lost),
        lost,
        (error) => !isPermanent(error),
      )
    } catch (error) {
      if (!isPermanent(error) || lost.aborted) throw error // stopping, or the partition moved
      if (part.length === 1) {
        await deadLetter(part[0]!.message, reasonOf(error), lost)
        return
      }
      logger.warn('batch refused; splitting it to find the messages refused', {
        group,
        messages: part.length,
        error,
      })
      const middle = part.length >>> 1
      await handleIsolating(part.slice(0, middle), lost)
      await handleIsolating(part.slice(middle), lost)
    }
  }

  async function flush(stream: RawStream): Promise<void> {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (entries.length === 0) return
    let batch = entries
    entries = []
    bufferedItems = 0
    stream.pause()
    // Handle (and dead-letter) first, commit after: a crash in between redelivers, which
    // the handlers absorb. Nothing is committed that is neither handled nor dead-lettered.
    try {
      batch = await handleWhileHeld(batch)
    } catch (error) {
      if (stopped) return // nothing committed: redelivered after restart
      throw error
    }
    const lastByPartition = new Map<number, RawMessage>()
    for (const { message } of batch) lastByPartition.set(message.partition, message)
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

  /**
   * Handles the batch's entries of the partitions this member still holds, once it may:
   * after the handover time of a partition just gained, and while its heartbeats succeed.
   * When a partition moves meanwhile, the handler is stopped and the entries still held
   * are handled again (idempotently). Resolves with the entries handled, to commit.
   */
  async function handleWhileHeld(batch: Array<Entry<T>>): Promise<Array<Entry<T>>> {
    const held = (entry: Entry<T>) => tenure.holds(entry.message.partition, entry.epoch)
    for (;;) {
      batch = batch.filter(held)
      if (batch.length === 0) return batch
      const wait = tenure.waitBefore(new Set(batch.map((entry) => entry.message.partition)))
      if (wait > 0 || !tenure.current()) {
        await sleep(Math.min(Math.max(wait, 1), TENURE_POLL_MS), undefined, { signal: stopping.signal })
        continue
      }
      const lost = new AbortController()
      const loseIfMoved = () => {
        if (!lost.signal.aborted && (!batch.every(held) || !tenure.current()))
          lost.abort(new PartitionLostError())
      }
      const unsubscribe = tenure.onLoss(loseIfMoved)
      const leaseCheck = setInterval(loseIfMoved, TENURE_POLL_MS)
      try {
        for (const entry of batch)
          if (entry.deadLetter !== undefined) await deadLetter(entry.message, entry.deadLetter, lost.signal)
        await handleIsolating(batch, lost.signal)
        return batch.filter(held)
      } catch (error) {
        if (!lost.signal.aborted) throw error
        logger.info(
          'a partition moved, or the membership lapsed, during a batch; its messages are left to their holder',
          {
            group,
            messages: batch.length,
          },
        )
      } finally {
        unsubscribe()
        clearInterval(leaseCheck)
      }
    }
  }

  /** One flush at a time; what arrives meanwhile goes in the next. */
  function startFlush(stream: RawStream): void {
    if (flushing) return
    flushing = flush(stream)
      .catch(async (error: unknown) => {
        // Not expected (the retries end only on stop); rebuild the consumer from the last commit.
        logger.error('batch flush failed; rejoining the group', { group, error })
        await stream.close().catch(() => undefined)
      })
      .finally(() => {
        flushing = undefined
        if (entries.length > 0 && !stopped && !timer) startFlush(stream)
      })
  }

  function receive(stream: RawStream, message: RawMessage): void {
    options.onConsumed?.()
    // Read after its partition moved (a fetch in flight): its new holder reads it again.
    const epoch = tenure.epochOf(message.partition)
    if (epoch === undefined) return
    let decoded: Decoded<T>
    try {
      decoded = options.decode(message)
    } catch (error) {
      decoded = { items: [], deadLetter: `failed: ${String(error)}` }
    }
    entries.push(
      decoded.deadLetter === undefined
        ? { message, epoch, items: decoded.items }
        : { message, epoch, items: decoded.items, deadLetter: decoded.deadLetter },
    )
    bufferedItems += decoded.items.length
    if (bufferedItems >= options.maxBatchItems) startFlush(stream)
    else if (!timer) timer = setTimeout(() => startFlush(stream), options.maxBatchDelayMs)
  }

  /** One consumer's life: join the group, consume until the stream fails or is closed. Resolves with why it ended. */
  async function consumeUntilEnd(): Promise<unknown> {
    const consumer: RawConsumer = new Consumer<Buffer, Buffer, string, Buffer>({
      clientId: `${options.clientId}-${group}`,
      groupId: group,
      bootstrapBrokers: options.brokers,
      autocommit: false,
      sessionTimeout: SESSION_TIMEOUT_MS,
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
    // Registered before joining, so the holding starts before the stream fetches a message.
    const heldPartitions = () =>
      (consumer.assignments ?? []).filter((a) => a.topic === topic).flatMap((a) => a.partitions)
    // Membership changes are logged: they are rare, and they explain a pause of the group's work.
    consumer.on('consumer:group:join', () => {
      const partitions = heldPartitions()
      readFromCommitted(current?.stream, topic, tenure.assigned(partitions))
      logger.info('joined the group', { group, topic, partitions, generation: consumer.generationId })
    })
    // Emitted when a heartbeat learns of a rebalance (and after a cooperative revocation,
    // with the assignments already reduced): no step starts until the member has rejoined.
    consumer.on('consumer:group:rebalance', () => {
      readFromCommitted(current?.stream, topic, tenure.assigned(heldPartitions()))
      tenure.rebalancing()
      logger.info('the group is rebalancing; no step starts until this member has rejoined', { group })
    })
    consumer.on('consumer:heartbeat:end', () => tenure.heartbeat())
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
    // This member's partitions end with it: a running flush stops before its next step
    // (or its wait for a handover or a heartbeat, which would never come) and commits
    // nothing; what was read but not flushed is dropped. The next consumer reads it again.
    tenure.released()
    if (timer) clearTimeout(timer)
    timer = undefined
    await flushing
    entries = []
    bufferedItems = 0
    current = undefined
    options.onConsumerStopping?.(consumer)
    await stream.close().catch(() => undefined)
    await consumer.close(true).catch(() => undefined)
    return reason
  }

  // The consumer is rebuilt whenever its stream fails, so a group never stops for good.
  const loop = retry(
    async () => {
      const reason = await consumeUntilEnd()
      if (!stopped) throw reason ?? new Error('the consumer stream ended')
    },
    {
      minDelayMs: 250,
      maxDelayMs: 5_000,
      signal: stopping.signal,
      onRetry: (error, attempt, delay) =>
        logger.warn('consumer ended; rejoining the group', { group, attempt, delay, error }),
    },
  ).catch(() => undefined) // only a stop ends it

  return {
    async stop() {
      stopped = true
      stopping.abort()
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

/**
 * Makes the stream read the partitions this member just gained from the group's committed
 * offset, or from the earliest one when nothing of them was committed (the fallback).
 *
 * The stream remembers where it read every partition it ever held, and at a join replaces
 * that by the committed offset only where there is one. A partition that left this member
 * before anything of it was committed, and came back, was read on from where the member
 * had been: past the messages it had read and dropped when the partition left, which were
 * then never processed by anyone. Without the position, the stream's own join handler
 * (it runs after this one: the stream subscribes when it is created, after the join that
 * created it) seeds the partition like one never read.
 */
function readFromCommitted(stream: RawStream | undefined, topic: string, gained: readonly number[]): void {
  // The stream's key for a partition (`partitionKey` of @platformatic/kafka, not exported).
  for (const partition of gained) stream?.offsetsToFetch.delete(`${topic}:${partition}`)
}

/** The dead-letter reason for a refused message: the error's own words. */
function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
