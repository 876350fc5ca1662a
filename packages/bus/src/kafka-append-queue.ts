import { randomUUID } from 'node:crypto'
import { ProduceAcks, Producer, stringSerializer } from '@platformatic/kafka'
import type { AppendCandidate } from '@spansift/core/datasets/append-candidate'
import type {
  DatasetAppendBatch,
  DatasetAppendHandler,
  DatasetAppendQueue,
} from '@spansift/core/datasets/append-queue-port'
import {
  type DatasetCommand,
  type DatasetCommandSender,
  datasetCommandKey,
  runDatasetCommand,
} from '@spansift/core/datasets/dataset-command'
import type { MappedRow, Priority, SourceKind } from '@spansift/core/datasets/dataset-model'
import type { DatasetWriter } from '@spansift/core/datasets/dataset-writer-port'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import type { Logger } from '@spansift/core/logger'
import { type Metrics, noopMetrics } from '@spansift/core/metrics'
import {
  decodeWire,
  encodeWire,
  errorReply,
  isWireCommand,
  replyOutcome,
  type WireCommand,
  type WireReply,
} from './dataset-command-wire.ts'
import { provisionTopics } from './kafka-bus.ts'
import { type ConsumerLoop, startConsumerLoop } from './kafka-consumer-loop.ts'
import { createKafkaReplyInbox, type ReplyInbox } from './kafka-reply-inbox.ts'
import { chunkBySize } from './send-chunks.ts'
import { Topic } from './topics.ts'

export interface KafkaAppendQueueOptions {
  brokers: string[]
  clientId: string
  /** Partitions of the topic when spansift creates it: the most appenders that can work at once. */
  partitions: number
  /** Unset: min(3, brokers), as for the spans topic (see provisionTopics). */
  replicationFactor?: number | undefined
  minInsyncReplicas?: number | undefined
  topic?: string
  /** The appenders' consumer group (tests isolate themselves); DATASET_APPENDER_GROUP by default. */
  group?: string
  /** Where owners answer commands; Topic.datasetReplies by default. */
  repliesTopic?: string
  /** Whether this process sends commands (it then reads the replies topic); false by default. */
  sendsCommands?: boolean
  /** How long a command's sender waits for its owner's reply (ms); 30 s by default. */
  commandTimeoutMs?: number
  /**
   * The message key a dataset's changes travel under, which picks its owner: the dataset
   * id by default. The wiring keys a training dataset by the eval dataset it excludes, so
   * both have one owner and an eval append's purge of overlapping training rows runs
   * under the same process's locks as the training dataset's own appends.
   */
  ownerKey?: (datasetId: string) => Promise<string>
  /** A consumer's wait after gaining a partition, so its former holder's step ends first (the consumer loop's default: 5 s). */
  handoverMs?: number
  logger: Logger
  metrics?: Metrics
}

/**
 * The Kafka append queue, which also carries every other mutation of a dataset to its
 * owner: `send` a command (a process that owns nothing: the API), `serveCommands` with
 * the process's own writer (a member of the appender group: an owner).
 */
export interface KafkaAppendQueue extends DatasetAppendQueue {
  /** Runs commands for the datasets of this member's partitions on `writer`; call before `start()`. */
  serveCommands(writer: DatasetWriter): void
  /** Sends a command to its dataset's owner and resolves with the result (needs `sendsCommands`). */
  send: DatasetCommandSender
}

/** The consumer group of the appenders, the datasets' owners (they run in the rule-worker and api roles). */
export const DATASET_APPENDER_GROUP = 'spansift-dataset-appender'

/** One candidate on the wire (JSON; the span start as a decimal string: it is an int64). */
interface WireCandidate {
  dataset_id: string
  application_id: string
  trace_id: string
  span_id: string
  span_start_unix_nano: string
  source_kind: SourceKind
  rule_id: string | null
  row: MappedRow
  inputs_hash: string
  defaults?: { priority: Priority | null; feedback_category: string | null; labels: string[] }
  redacted_fields?: string[]
}

function toWire(datasetId: string, c: AppendCandidate): WireCandidate {
  return {
    dataset_id: datasetId,
    application_id: c.applicationId,
    trace_id: c.traceId,
    span_id: c.spanId,
    span_start_unix_nano: c.spanStartUnixNano.toString(),
    source_kind: c.sourceKind,
    rule_id: c.ruleId,
    row: c.row,
    inputs_hash: c.inputsHash,
    ...(c.defaults
      ? {
          defaults: {
            priority: c.defaults.priority,
            feedback_category: c.defaults.feedbackCategory,
            labels: c.defaults.labels,
          },
        }
      : {}),
    ...(c.redactedFields ? { redacted_fields: c.redactedFields } : {}),
  }
}

function fromWire(w: WireCandidate): { datasetId: string; candidate: AppendCandidate } {
  return {
    datasetId: w.dataset_id,
    candidate: {
      applicationId: w.application_id,
      traceId: w.trace_id,
      spanId: w.span_id,
      spanStartUnixNano: BigInt(w.span_start_unix_nano),
      sourceKind: w.source_kind,
      ruleId: w.rule_id,
      row: w.row,
      inputsHash: w.inputs_hash,
      ...(w.defaults
        ? {
            defaults: {
              priority: w.defaults.priority,
              feedbackCategory: w.defaults.feedback_category,
              labels: w.defaults.labels,
            },
          }
        : {}),
      ...(w.redacted_fields ? { redactedFields: w.redacted_fields } : {}),
    },
  }
}

/** What one message of the appends topic carries: a rule match, or a command with a reply expected. */
type QueueItem =
  | { datasetId: string; candidate: AppendCandidate; command?: undefined }
  | { datasetId: string; command: WireCommand; candidate?: undefined }

/** Recently answered commands kept for a redelivery (a batch retried after a later failure). */
const ANSWERED_MEMORY = 1_000

/**
 * The distributed path to each dataset's one owner. Rule workers produce each match as
 * one message keyed by its dataset id to `spansift.dataset-appends`, and processes that
 * own no dataset (the API) send every other mutation there too, as a command keyed the
 * same way, then wait for the reply on `spansift.dataset-replies`. Every message of a
 * dataset lands in one partition, and the appender group member holding it (the owner)
 * runs them in order on its own writer: the cap holds exactly and one draft is created,
 * however many processes write. Delivery is at least once; a redelivered candidate is the
 * same item id, so nothing is appended twice; a command past its deadline is skipped
 * (its sender already answered that the outcome is unknown).
 */
export function createKafkaAppendQueue(options: KafkaAppendQueueOptions): KafkaAppendQueue {
  const topic = options.topic ?? Topic.datasetAppends
  const repliesTopic = options.repliesTopic ?? Topic.datasetReplies
  const commandTimeoutMs = options.commandTimeoutMs ?? 30_000
  const ownerKey = options.ownerKey ?? (async (datasetId: string) => datasetId)
  const logger = options.logger.child({ component: 'kafka-append-queue' })
  const metrics = options.metrics ?? noopMetrics
  const produced = metrics.counter({
    name: 'spansift_dataset_appends_enqueued_total',
    help: 'Rule matches Kafka acknowledged on the dataset-appends topic.',
  })
  const commandsRun = metrics.counter({
    name: 'spansift_dataset_commands_total',
    help: 'Dataset commands an owner took from the dataset-appends topic, by outcome (ok, error, expired).',
    labelNames: ['outcome'],
  })
  let handler: DatasetAppendHandler | undefined
  let ownWriter: DatasetWriter | undefined
  let producer: Producer<Buffer, Buffer, string, Buffer> | undefined
  let loop: ConsumerLoop | undefined
  let inbox: ReplyInbox | undefined
  // One send in flight (the client can duplicate records with several); later sends queue.
  let sending: Promise<unknown> = Promise.resolve()
  const answered = new Map<string, WireReply>()

  function produce(messages: Array<{ topic: string; key: Buffer; value: Buffer }>): Promise<void> {
    const client = producer
    if (!client) return Promise.reject(new Error('the append queue is not started'))
    const send = sending
      .catch(() => undefined)
      .then(async () => {
        for (const chunk of chunkBySize(messages)) await client.send({ messages: chunk })
      })
    sending = send
    return send
  }

  /** Runs one command as its dataset's owner and replies; a redelivered one gets its first reply again. */
  async function execute(wire: WireCommand): Promise<void> {
    let reply = answered.get(wire.request_id)
    if (!reply) {
      if (Date.now() > wire.deadline_unix_ms) {
        commandsRun.inc({ outcome: 'expired' })
        logger.warn('dataset command past its deadline; skipped', {
          op: wire.command.op,
          key: datasetCommandKey(wire.command),
          request_id: wire.request_id,
        })
        return
      }
      try {
        reply = {
          request_id: wire.request_id,
          ok: true,
          result: await runDatasetCommand(writerFor(), wire.command),
        }
        commandsRun.inc({ outcome: 'ok' })
      } catch (error) {
        if (!(error instanceof SpansiftError))
          logger.error('dataset command failed', { op: wire.command.op, request_id: wire.request_id, error })
        reply = errorReply(wire.request_id, error)
        commandsRun.inc({ outcome: 'error' })
      }
      answered.set(wire.request_id, reply)
      if (answered.size > ANSWERED_MEMORY) answered.delete(answered.keys().next().value!)
    }
    await produce([{ topic: repliesTopic, key: Buffer.from(wire.request_id), value: encodeWire(reply) }])
  }

  function writerFor(): DatasetWriter {
    if (!ownWriter) throw new Error('this appender serves no commands (serveCommands was not called)')
    return ownWriter
  }

  /**
   * Per dataset, in arrival order: runs of rule matches appended together, commands one by
   * one. Each step starts only while this member still holds the batch's partitions, and
   * the batch ends only when every dataset's step in progress has: when a partition moves,
   * its new owner starts after them (see the consumer loop's handover).
   */
  async function handleBatch(items: QueueItem[], lost: AbortSignal): Promise<void> {
    const byDataset = new Map<string, QueueItem[]>()
    for (const item of items) {
      const list = byDataset.get(item.datasetId)
      if (list) list.push(item)
      else byDataset.set(item.datasetId, [item])
    }
    const outcomes = await Promise.allSettled(
      [...byDataset].map(async ([datasetId, list]) => {
        let run: AppendCandidate[] = []
        for (const item of list) {
          if (item.candidate) {
            run.push(item.candidate)
            continue
          }
          if (run.length > 0) await appendRun(datasetId, run, lost)
          run = []
          lost.throwIfAborted()
          await execute(item.command)
        }
        if (run.length > 0) await appendRun(datasetId, run, lost)
      }),
    )
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason
  }

  async function appendRun(
    datasetId: string,
    candidates: AppendCandidate[],
    lost: AbortSignal,
  ): Promise<void> {
    lost.throwIfAborted()
    if (!handler) {
      // An owner serving commands only (tests): rule matches still go to its writer.
      await writerFor().append(datasetId, candidates, { upToCap: true, signal: lost })
      return
    }
    await handler(datasetId, candidates, lost)
  }

  function decode(value: Buffer): QueueItem {
    const parsed = decodeWire(value)
    if (isWireCommand(parsed)) return { datasetId: datasetCommandKey(parsed.command), command: parsed }
    return fromWire(parsed as WireCandidate)
  }

  return {
    consume(h) {
      if (handler) throw new Error('the append queue already has its appender')
      handler = h
    },
    serveCommands(writer) {
      if (ownWriter) throw new Error('the append queue already serves commands')
      ownWriter = writer
    },
    async start() {
      await provisionTopics(
        {
          brokers: options.brokers,
          clientId: options.clientId,
          topics: [topic, repliesTopic],
          partitions: options.partitions,
          replicationFactor: options.replicationFactor,
          minInsyncReplicas: options.minInsyncReplicas,
        },
        logger,
      )
      producer = new Producer<Buffer, Buffer, string, Buffer>({
        clientId: options.clientId,
        bootstrapBrokers: options.brokers,
        idempotent: true,
        acks: ProduceAcks.ALL,
        retries: 3,
        retryDelay: 500,
        serializers: { headerKey: stringSerializer },
      })
      if (options.sendsCommands) {
        inbox = createKafkaReplyInbox({
          brokers: options.brokers,
          clientId: options.clientId,
          topic: repliesTopic,
          logger,
        })
        await inbox.start()
      }
      if (handler || ownWriter) {
        loop = startConsumerLoop<QueueItem>({
          brokers: options.brokers,
          clientId: options.clientId,
          group: options.group ?? DATASET_APPENDER_GROUP,
          topic,
          decode: (message) => ({ items: [decode(message.value)] }),
          handle: handleBatch,
          maxBatchItems: 2_000,
          maxBatchDelayMs: 50,
          ...(options.handoverMs === undefined ? {} : { handoverMs: options.handoverMs }),
          logger,
        })
      }
    },
    async shutdown() {
      // Senders first (their waiters answer `unavailable`), then the owner side drains.
      await inbox?.shutdown()
      inbox = undefined
      await sending.catch(() => undefined)
      await loop?.stop()
      loop = undefined
      await sending.catch(() => undefined)
      await producer?.close()
      producer = undefined
    },
    async enqueue(batches: readonly DatasetAppendBatch[]) {
      if (!producer) throw new Error('the append queue is not started')
      const keys = await Promise.all(batches.map((b) => ownerKey(b.datasetId)))
      const messages = batches.flatMap((b, i) =>
        b.candidates.map((c) => ({
          topic,
          key: Buffer.from(keys[i]!),
          value: Buffer.from(JSON.stringify(toWire(b.datasetId, c))),
        })),
      )
      if (messages.length === 0) return
      await produce(messages)
      produced.inc(undefined, messages.length)
    },
    async send(command: DatasetCommand) {
      const replies = inbox
      if (!replies) throw new Error('this append queue does not send commands (sendsCommands is off)')
      const wire: WireCommand = {
        kind: 'dataset-command',
        request_id: randomUUID(),
        deadline_unix_ms: Date.now() + commandTimeoutMs,
        command,
      }
      const key = command.op === 'create' ? datasetCommandKey(command) : await ownerKey(command.datasetId)
      await replies.ready()
      // Waiting before sending: the reply cannot arrive before its waiter.
      const reply = replies.wait(wire.request_id, wire.deadline_unix_ms)
      try {
        await produce([{ topic, key: Buffer.from(key), value: encodeWire(wire) }])
      } catch (error) {
        reply.catch(() => undefined)
        logger.warn('dataset command could not be sent', { op: command.op, error })
        throw new SpansiftError(
          ErrorCode.unavailable,
          "the dataset's owner cannot be reached right now; retry",
        )
      }
      return replyOutcome(await reply)
    },
  }
}
