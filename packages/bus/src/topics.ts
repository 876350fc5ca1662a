/** Kafka topic and header names, in one place. */
export const Topic = {
  /** key = hex trace id, value = OTLP ExportTraceServiceRequest (protobuf) of one trace's spans. */
  spans: 'spansift.spans',
  /** Messages a consumer can never process, with the reason in headers. */
  spansDeadLetter: 'spansift.spans.dlq',
  /**
   * key = hex trace id, value = OTLP ExportLogsServiceRequest (protobuf, the Collector's
   * `otlp_proto` encoding for logs) with `spansift.application.id` on the resource. Only GenAI
   * content events (event name `gen_ai.*`, tied to a span) are kept; other records are skipped.
   */
  logs: 'spansift.logs',
  /** Logs messages a consumer can never process, with the reason in headers. */
  logsDeadLetter: 'spansift.logs.dlq',
  /** key = dataset id, value = one rule match (an append candidate) or one dataset command, as JSON; see kafka-append-queue.ts. */
  datasetAppends: 'spansift.dataset-appends',
  /**
   * key = request id, value = a dataset owner's reply to a command sent on the appends
   * topic (JSON; see dataset-command-wire.ts). Every sending process reads all of it.
   */
  datasetReplies: 'spansift.dataset-replies',
} as const

export const DeadLetterHeader = {
  reason: 'spansift.dlq.reason',
  sourceTopic: 'spansift.dlq.topic',
  sourcePartition: 'spansift.dlq.partition',
  sourceOffset: 'spansift.dlq.offset',
  consumerGroup: 'spansift.dlq.group',
} as const
