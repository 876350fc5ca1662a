import type { Stage } from '@spansift/core/lifecycle'
import type { WireTrace } from '@spansift/core/otlp/split-by-trace-wire'
import type { Span } from '@spansift/core/span-model'

/** Processes one batch of spans; resolving means the batch is done (stored, matched). */
export type SpanBatchHandler = (spans: readonly Span[]) => Promise<void>

/**
 * The bus between the receivers and the workers. Adapters: in-process (the embedded
 * default) and Kafka (topic `spansift.spans`). Every adapter passes the same
 * conformance suite.
 */
export interface SpanBus extends Stage {
  /**
   * Hands spans to every subscribed group. Resolves only once they are durable: stored
   * by every group in process, or acknowledged by Kafka. Rejects with a retryable
   * `BusUnavailableError` when the bus cannot take them now. `sizeBytes` is the encoded
   * size of the export the spans were decoded from, when the caller knows it: the
   * in-process bus bounds the memory in flight by it (the Kafka bus measures its own
   * encoding).
   */
  publish(spans: readonly Span[], sizeBytes?: number): Promise<void>
  /**
   * Hands over traces already split and encoded on the wire (`splitExportTraceRequestByTrace`),
   * one record each, with `publish`'s guarantees (durable on resolve, the same in-flight
   * bound and errors). Only the Kafka bus has it: the in-process bus needs span objects.
   */
  publishEncoded?(traces: readonly WireTrace[]): Promise<void>
  /** Registers a consumer group's handler; call before `start()`. */
  subscribe(group: string, handler: SpanBatchHandler): void
  /** True when the bus can take spans now (for /readyz): started, and its broker answers. Cheap. */
  ready(): Promise<boolean>
  /**
   * The consumer groups of this process that make no progress while messages wait for
   * them (for /readyz); absent where consumers cannot stall apart from their callers.
   */
  stalledGroups?(): string[]
}

/** The bus cannot take more right now (backpressure, broker down). The sender should retry later. */
export class BusUnavailableError extends Error {
  readonly retryAfterSeconds: number
  readonly reason: 'overloaded' | 'unavailable'

  constructor(reason: 'overloaded' | 'unavailable', message: string, retryAfterSeconds = 1) {
    super(message)
    this.name = 'BusUnavailableError'
    this.reason = reason
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** Consumer group names, one per worker role. */
export const ConsumerGroup = {
  spanWriter: 'spansift-span-writer',
  ruleWorker: 'spansift-rule-worker',
} as const
