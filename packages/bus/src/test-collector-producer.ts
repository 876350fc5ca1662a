import { ProduceAcks, Producer } from '@platformatic/kafka'

/**
 * A producer writing to the topics as a Collector's Kafka exporter (or any other client)
 * would, for tests that bypass spansift's own publishing: acks=all, and idempotent, so a
 * send retried while a new broker creates the topic is not written twice (which a test
 * would read as a duplicate the code under test never made).
 */
export function createCollectorProducer(brokers: string[], clientId = 'collector'): Producer {
  return new Producer({ clientId, bootstrapBrokers: brokers, acks: ProduceAcks.ALL, idempotent: true })
}
