import type { RawMessage } from './kafka-consumer-loop.ts'
import { DeadLetterHeader } from './topics.ts'

/**
 * The dead-letter record of a message that can never be processed: its key and value as
 * they were, and headers saying why, from where (topic, partition, offset) and which
 * consumer group gave up on it, so an operator can inspect it and replay it.
 */
export function deadLetterRecord(
  message: RawMessage,
  reason: string,
  deadLetterTopic: string,
  group: string,
) {
  return {
    topic: deadLetterTopic,
    key: message.key,
    value: message.value,
    headers: {
      [DeadLetterHeader.reason]: Buffer.from(reason),
      [DeadLetterHeader.sourceTopic]: Buffer.from(message.topic),
      [DeadLetterHeader.sourcePartition]: Buffer.from(String(message.partition)),
      [DeadLetterHeader.sourceOffset]: Buffer.from(String(message.offset)),
      [DeadLetterHeader.consumerGroup]: Buffer.from(group),
    },
  }
}
