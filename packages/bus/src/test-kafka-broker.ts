/**
 * The Kafka broker integration tests run against: `KAFKA_TEST_BROKERS`, which
 * `scripts/with-kafka.sh` (and so `npm test` and CI) sets after starting the real test
 * broker from deploy/kafka. A test that needs Kafka fails without it; it never skips.
 */
export function kafkaTestBrokers(): string[] {
  const brokers = process.env.KAFKA_TEST_BROKERS
  if (!brokers) {
    throw new Error(
      'KAFKA_TEST_BROKERS is not set: run the integration tests with `npm run test:integration`, which starts the test broker (deploy/kafka/kafka.sh)',
    )
  }
  return brokers.split(',')
}
