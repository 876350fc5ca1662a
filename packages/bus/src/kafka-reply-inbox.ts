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
  /** Resolves with the reply to `requestId`; rejects with `unavailable` at the deadline (Unix ms). */
  wait(requestId: string, deadlineUnixMs: number): Promise<WireReply>
}

type Pending = { resolve: (reply: WireReply) => void; timer: NodeJS.Timeout }

/**
 * The replies topic read by one requesting process: a consumer of its own (a group of one
 * member, named per process, that never commits) reads every partition from the offsets
 * they had at start, and hands each reply whose request id it waits for to its waiter;
 * other processes' replies are skipped. Reading from offsets listed before the first
 * command is sent (not "latest" resolved later) means no reply can slip past unread.
 * If the stream fails, it is rebuilt from the then-latest offsets: replies in the gap are
 * lost and their requests end at their deadline, answered `unavailable`.
 */
export function createKafkaReplyInbox(options: KafkaReplyInboxOptions): ReplyInbox {
  const logger = options.logger.child({ component: 'reply-inbox' })
  const pending = new Map<string, Pending>()
  let consumer: Consumer<Buffer, Buffer, string, Buffer> | undefined
  let stream: MessagesStream<Buffer, Buffer, string, Buffer> | undefined
  let stopped = false
  let restart: NodeJS.Timeout | undefined

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

  async function open(): Promise<void> {
    const next = new Consumer<Buffer, Buffer, string, Buffer>({
      clientId: `${options.clientId}-replies`,
      groupId: `spansift-dataset-replies-${randomUUID()}`,
      bootstrapBrokers: options.brokers,
      autocommit: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      deserializers: { headerKey: stringDeserializer },
    })
    consumer = next
    // A failed background rejoin is emitted on the consumer: heard here, it reopens.
    next.on('error', (error: unknown) => {
      if (stopped || consumer !== next) return
      logger.warn('reply consumer failed; reopening from the latest offsets', { error })
      reopen()
    })
    try {
      const latest = (await next.listOffsets({ topics: [options.topic] })).get(options.topic) ?? []
      const opened = await next.consume({
        topics: [options.topic],
        autocommit: false,
        mode: 'manual',
        offsets: latest.map((offset, partition) => ({ topic: options.topic, partition, offset })),
      })
      stream = opened
      opened.on('data', (message) => deliver(message.value))
      opened.on('error', (error) => {
        logger.warn('reply stream failed; reopening from the latest offsets', { error })
        reopen()
      })
    } catch (error) {
      await next.close(true).catch(() => undefined)
      throw error
    }
  }

  function reopen(): void {
    if (stopped || restart) return
    restart = setTimeout(async () => {
      restart = undefined
      await stream?.close().catch(() => undefined)
      await consumer?.close(true).catch(() => undefined)
      stream = undefined
      consumer = undefined
      if (stopped) return
      await open().catch((error) => {
        logger.warn('reply consumer could not reopen; retrying', { error })
        reopen()
      })
    }, 1_000)
  }

  return {
    async start() {
      await open()
    },
    async shutdown() {
      stopped = true
      if (restart) clearTimeout(restart)
      for (const [requestId, waiter] of pending) {
        clearTimeout(waiter.timer)
        waiter.resolve({
          request_id: requestId,
          ok: false,
          error: { code: ErrorCode.unavailable, message: 'the process is shutting down; retry' },
        })
      }
      pending.clear()
      await stream?.close().catch(() => undefined)
      await consumer?.close(true).catch(() => undefined)
    },
    wait(requestId, deadlineUnixMs) {
      if (!consumer) return Promise.reject(new Error('the reply inbox is not started'))
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
