import type { Stage } from '@spansift/core/lifecycle'
import type { SpanContentEvent } from '@spansift/core/span-content-event'

/** Processes one batch of content events; resolving means the batch is done (stored). */
export type ContentBatchHandler = (events: readonly SpanContentEvent[]) => Promise<void>

/**
 * The bus GenAI content events (OTLP log records tied to a span) travel on from the receivers
 * to the span writers: in process (embedded), or the Kafka topic `spansift.logs`.
 */
export interface ContentBus extends Stage {
  /** Resolves once the events are durable; rejects with a retryable `BusUnavailableError` when it cannot take them now. */
  publish(events: readonly SpanContentEvent[]): Promise<void>
  /** Registers a consumer group's handler; call before `start()`. */
  subscribe(group: string, handler: ContentBatchHandler): void
}

/** The consumer group that stores content events (it runs in the span-writer role). */
export const CONTENT_WRITER_GROUP = 'spansift-content-writer'

/** The rule workers' group on content events: spans whose content arrives after them are evaluated again. */
export const CONTENT_RULE_WORKER_GROUP = 'spansift-rule-worker-content'
