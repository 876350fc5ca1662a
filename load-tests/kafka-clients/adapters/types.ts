// The calls spansift needs from a Kafka client, behind one small interface so that
// both clients run the very same checks and benchmark loops.

export type GroupProtocol = 'classic' | 'consumer'

export interface OutMessage {
  key: Buffer
  value: Buffer
  headers?: Record<string, Buffer>
}

export interface InMessage {
  topic: string
  partition: number
  offset: bigint
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, Buffer>
}

/**
 * Receives the messages of ONE partition, in offset order, and returns how many of
 * them (a prefix) were processed. The adapter commits offset(last processed) + 1 after
 * the handler resolves, and nothing else: no auto-commit.
 */
export type BatchHandler = (messages: InMessage[]) => Promise<number>

export interface ProducerHandle {
  /** Idempotent, acks=all send of a batch; resolves once every message is acknowledged. */
  send(topic: string, messages: OutMessage[]): Promise<void>
  close(): Promise<void>
}

export interface ConsumerHandle {
  /** Partitions of the topic currently assigned to this member (sorted). */
  assigned(): number[]
  /** Errors the client reported asynchronously (crash events, failed commits, stream errors). */
  readonly errors: string[]
  close(): Promise<void>
}

export interface ProducerOptions {
  clientId: string
  /** Undefined: the client's own default for an idempotent producer. */
  retries?: number
}

export interface ConsumerOptions {
  clientId: string
  groupId: string
  topic: string
  /** Where to start when the group has no committed offset: earliest (true) or latest. */
  fromBeginning: boolean
  onBatch: BatchHandler
  protocol?: GroupProtocol
}

export interface ClientAdapter {
  readonly name: string
  readonly version: string
  /** waitForLeaders (default true): resolve only once every partition has a leader. */
  createTopic(topic: string, partitions: number, waitForLeaders?: boolean): Promise<void>
  partitionCount(topic: string): Promise<number>
  /** Log end offset per partition (= records written, on a topic without transactions). */
  endOffsets(topic: string): Promise<Map<number, bigint>>
  /** Committed offset per partition (partitions without a commit are left out). */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>>
  deleteTopic(topic: string): Promise<void>
  createProducer(options: ProducerOptions): Promise<ProducerHandle>
  createConsumer(options: ConsumerOptions): Promise<ConsumerHandle>
  /** Close the admin connection. */
  close(): Promise<void>
}
