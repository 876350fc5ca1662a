import { randomUUID } from 'node:crypto'
import { Consumer, type MessagesStream, stringDeserializer } from '@platformatic/kafka'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import type { Stage } from '@spansift/core/lifecycle'
import type { Logger } from '@spansift/core/logger'
import { decodeWire, type WireReply } from './dataset-command-wire.ts'

export interface KafkaReplyInboxOptions {
  brokers: string[]
  clientId: string
  topic: string
  logger: Logger
}

/** Where one process's command replies arrive: `wait` for a request id, with a deadline. */
export interface ReplyInbox extends Stage {
  /** Resolves once replies are being read (reopening a failed reader); rejects with `unavailable`. */
  ready(): Promise<void>
  /**
   * Resolves with the reply to `requestId`, or rejects with `unavailable` at the deadline
   * (Unix ms). Call it before sending the request, after `ready()`.
   */
  wait(requestId: string, deadlineUnixMs: number): Promise<WireReply>
}

type Pending = { resolve: (reply: WireReply) => void; timer: NodeJS.Timeout }
type Reader = {
  consumer: Consumer<Buffer, Buffer, string, Buffer>
  stream: MessagesStream<Buffer, Buffer, string, Buffer> | undefined
}

/**
 * The replies topic read by one requesting process: a consumer of its own (a group of one
 * member, named per process, that never commits) reads every partition from the offsets
 * they had when it opened, and hands each reply whose request id it waits for to its
 * waiter; other processes' replies are skipped. Reading from offsets listed before the
 * first command is sent (not "latest" resolved later) means no reply can slip past
 * unread. If the consumer fails, it is closed and the next request opens a new one from
 * the then-latest offsets (no retry loop: a request that cannot open it is answered
 * `unavailable`); replies in the gap are lost and their requests end at their deadline.
 */
export function createKafkaReplyInbox(options: KafkaReplyInboxOptions): ReplyInbox {
  const logger = options.logger.child({ component: 'reply-inbox' })
  const pending = new Map<string, Pending>()
  let reader: Promise<Reader> | undefined
  /** Which opening `reader` is: a late failure of an older consumer must not drop a newer one. */
  let readerToken: object | undefined
  let stopped = false

  function deliver(value: Buffer): void {
    let reply: WireReply
    try {
      reply = decodeWire(value) as WireReply
    } catch (error) {
      logger.warn('unreadable reply skipped', { error })
      return
    }
    const waiter = pending.get(reply.request_id)
    if (!waiter) return // another process's, or one whose requester gave up
    pending.delete(reply.request_id)
    clearTimeout(waiter.timer)
    waiter.resolve(reply)
  }

  async function open(token: object): Promise<Reader> {
    const consumer = new Consumer<Buffer, Buffer, string, Buffer>({
      clientId: `${options.clientId}-replies`,
      groupId: `spansift-dataset-replies-${randomUUID()}`,
      bootstrapBrokers: options.brokers,
      autocommit: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      deserializers: { headerKey: stringDeserializer },
    })
    const opened: Reader = { consumer, stream: undefined }
    // A failed background rejoin is emitted on the consumer, a fetch failure on the stream.
    const fail = (error: unknown) => {
      if (stopped) return
      if (readerToken === token) {
        logger.warn('reply consumer failed; the next request reopens it', { error })
        reader = undefined
        readerToken = undefined
      }
      void close(opened)
    }
    consumer.on('error', fail)
    try {
      const latest = (await consumer.listOffsets({ topics: [options.topic] })).get(options.topic) ?? []
      const stream = await consumer.consume({
        topics: [options.topic],
        autocommit: false,
        mode: 'manual',
        offsets: latest.map((offset, partition) => ({ topic: options.topic, partition, offset })),
      })
      opened.stream = stream
      stream.on('data', (message) => deliver(message.value))
      stream.on('error', fail)
      return opened
    } catch (error) {
      await close(opened)
      throw error
    }
  }

  async function close(r: Reader): Promise<void> {
    await r.stream?.close().catch(() => undefined)
    await r.consumer.close(true).catch(() => undefined)
  }

  /** The open reader, opened now if it failed since (one attempt, shared by concurrent requests). */
  function ensureOpen(): Promise<Reader> {
    if (!reader) {
      const token = {}
      const opening = open(token)
      reader = opening
      readerToken = token
      opening.catch(() => {
        if (readerToken !== token) return
        reader = undefined
        readerToken = undefined
      })
    }
    return reader
  }

  return {
    async start() {
      await ensureOpen()
    },
    async shutdown() {
      stopped = true
      for (const [requestId, waiter] of pending) {
        clearTimeout(waiter.timer)
        waiter.resolve({
          request_id: requestId,
          ok: false,
          error: { code: ErrorCode.unavailable, message: 'the process is shutting down; retry' },
        })
      }
      pending.clear()
      const current = await reader?.catch(() => undefined)
      reader = undefined
      if (current) await close(current)
    },
    async ready() {
      if (stopped) throw new SpansiftError(ErrorCode.unavailable, 'the process is shutting down; retry')
      try {
        await ensureOpen()
      } catch (error) {
        logger.warn('reply consumer cannot open', { error })
        throw new SpansiftError(
          ErrorCode.unavailable,
          "the dataset's owner cannot be reached right now; retry",
        )
      }
    },
    wait(requestId, deadlineUnixMs) {
      return new Promise<WireReply>((resolve, reject) => {
        const timer = setTimeout(
          () => {
            pending.delete(requestId)
            reject(
              new SpansiftError(
                ErrorCode.unavailable,
                "the dataset's owner did not answer in time; the change may or may not have been applied (appends are idempotent: retry)",
              ),
            )
          },
          Math.max(0, deadlineUnixMs - Date.now()),
        )
        pending.set(requestId, { resolve, timer })
      })
    },
  }
}
