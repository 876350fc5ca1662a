import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, parseConfig } from './config.ts'

test('defaults are those of the contract', () => {
  const config = parseConfig({ PATH: '/usr/bin' })
  assert.equal(config.host, '127.0.0.1')
  assert.equal(config.otlpHttpPort, 4318)
  assert.equal(config.otlpGrpcPort, 4317)
  assert.equal(config.apiPort, 8080)
  assert.equal(config.dataDir, './data')
  assert.equal(config.clickhouseUrl, undefined)
  assert.equal(config.kafkaBrokers, undefined)
  assert.equal(config.spanRetentionDays, 30)
  assert.equal(config.clickhouseCluster, undefined)
  assert.equal(config.kafkaReplicationFactor, undefined)
  assert.equal(config.kafkaMinInsyncReplicas, undefined)
})

test('span limits and the API body limit default to the documented values and are configurable', () => {
  const defaults = parseConfig({ SPANSIFT_SPAN_RETENTION_DAYS: '7' })
  assert.deepEqual(defaults.spanLimits, {
    attributeCount: 1024,
    attributeValueLength: 1_048_576,
    eventCount: 1024,
    linkCount: 1024,
    eventAttributeCount: 128,
    linkAttributeCount: 128,
    nameLength: 1024,
    maxAgeMs: 7 * 86_400_000,
    maxFutureMs: 3_600_000,
  })
  assert.equal(defaults.apiMaxBodyBytes, 4 * 1024 * 1024)
  const set = parseConfig({
    SPANSIFT_SPAN_ATTRIBUTE_COUNT_LIMIT: '128',
    SPANSIFT_SPAN_MAX_AGE_DAYS: '2',
    SPANSIFT_SPAN_MAX_FUTURE_MINUTES: '5',
    SPANSIFT_API_MAX_BODY_BYTES: '65536',
  })
  assert.equal(set.spanLimits.attributeCount, 128)
  assert.equal(set.spanLimits.maxAgeMs, 2 * 86_400_000)
  assert.equal(set.spanLimits.maxFutureMs, 300_000)
  assert.equal(set.apiMaxBodyBytes, 65_536)
})

test('cluster mode and topic provisioning are parsed', () => {
  const config = parseConfig({
    SPANSIFT_CLICKHOUSE_URL: 'http://u:p@ch:8123/spansift',
    SPANSIFT_CLICKHOUSE_CLUSTER: 'spansift_cluster',
    SPANSIFT_KAFKA_BROKERS: 'k1:9092,k2:9092,k3:9092',
    SPANSIFT_KAFKA_REPLICATION_FACTOR: '3',
    SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS: '2',
  })
  assert.equal(config.clickhouseCluster, 'spansift_cluster')
  assert.equal(config.kafkaReplicationFactor, 3)
  assert.equal(config.kafkaMinInsyncReplicas, 2)
  assert.equal(
    parseConfig({ SPANSIFT_KAFKA_BROKERS: 'k:9092', SPANSIFT_KAFKA_REPLICATION_FACTOR: '1' })
      .kafkaMinInsyncReplicas,
    undefined,
  )
})

test('invalid combinations are refused, naming the variable', () => {
  const url = 'http://u:p@ch:8123/spansift'
  const kafka = { SPANSIFT_KAFKA_BROKERS: 'k:9092' }
  const cases: Array<[Record<string, string>, RegExp]> = [
    [
      { SPANSIFT_CLICKHOUSE_CLUSTER: 'prod' },
      /SPANSIFT_CLICKHOUSE_CLUSTER: needs SPANSIFT_CLICKHOUSE_URL \(the embedded engine is one node/,
    ],
    [
      { SPANSIFT_CLICKHOUSE_URL: url, SPANSIFT_CLICKHOUSE_CLUSTER: "prod'; DROP" },
      /SPANSIFT_CLICKHOUSE_CLUSTER: must be/,
    ],
    [
      { SPANSIFT_CLICKHOUSE_URL: url, SPANSIFT_CLICKHOUSE_CLUSTER: 'my-cluster' },
      /SPANSIFT_CLICKHOUSE_CLUSTER/,
    ],
    [{ ...kafka, SPANSIFT_KAFKA_REPLICATION_FACTOR: '0' }, /SPANSIFT_KAFKA_REPLICATION_FACTOR/],
    [{ ...kafka, SPANSIFT_KAFKA_REPLICATION_FACTOR: 'three' }, /SPANSIFT_KAFKA_REPLICATION_FACTOR/],
    [
      { ...kafka, SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS: '0', SPANSIFT_KAFKA_REPLICATION_FACTOR: '1' },
      /SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS/,
    ],
    [
      { ...kafka, SPANSIFT_KAFKA_REPLICATION_FACTOR: '2', SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS: '3' },
      /SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS: 3 exceeds SPANSIFT_KAFKA_REPLICATION_FACTOR \(2\)/,
    ],
    [
      { ...kafka, SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS: '2' },
      /SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS: needs SPANSIFT_KAFKA_REPLICATION_FACTOR/,
    ],
    [
      { SPANSIFT_SPAN_RETENTION_DAYS: '7', SPANSIFT_SPAN_MAX_AGE_DAYS: '8' },
      /SPANSIFT_SPAN_MAX_AGE_DAYS: 8 exceeds SPANSIFT_SPAN_RETENTION_DAYS \(7\)/,
    ],
    [{ SPANSIFT_SPAN_ATTRIBUTE_COUNT_LIMIT: '0' }, /SPANSIFT_SPAN_ATTRIBUTE_COUNT_LIMIT/],
    [{ SPANSIFT_API_MAX_BODY_BYTES: '4MiB' }, /SPANSIFT_API_MAX_BODY_BYTES/],
    [
      { SPANSIFT_KAFKA_REPLICATION_FACTOR: '3' },
      /SPANSIFT_KAFKA_REPLICATION_FACTOR: needs SPANSIFT_KAFKA_BROKERS/,
    ],
  ]
  for (const [env, message] of cases) {
    assert.throws(
      () => parseConfig(env),
      (error: unknown) => error instanceof ConfigError && message.test(error.message),
      JSON.stringify(env),
    )
  }
})

test('values are parsed and typed', () => {
  const config = parseConfig({
    SPANSIFT_API_PORT: '9090',
    SPANSIFT_KAFKA_BROKERS: '127.0.0.1:9092,localhost:9093',
    SPANSIFT_CLICKHOUSE_URL: 'http://u:p@ch:8123/spansift',
    SPANSIFT_SPAN_RETENTION_DAYS: '7',
  })
  assert.equal(config.apiPort, 9090)
  assert.deepEqual(config.kafkaBrokers, ['127.0.0.1:9092', 'localhost:9093'])
  assert.equal(config.clickhouseUrl, 'http://u:p@ch:8123/spansift')
  assert.equal(config.spanRetentionDays, 7)
})

test('a bad value stops start with a message naming the variable', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ SPANSIFT_API_PORT: 'eighty' }, /SPANSIFT_API_PORT/],
    [{ SPANSIFT_OTLP_HTTP_PORT: '70000' }, /SPANSIFT_OTLP_HTTP_PORT/],
    [{ SPANSIFT_SPAN_RETENTION_DAYS: '0' }, /SPANSIFT_SPAN_RETENTION_DAYS/],
    [{ SPANSIFT_CLICKHOUSE_URL: 'ftp://x' }, /SPANSIFT_CLICKHOUSE_URL/],
    [{ SPANSIFT_KAFKA_BROKERS: 'nohostport' }, /SPANSIFT_KAFKA_BROKERS/],
    [{ SPANSIFT_ADMIN_KEY: 'short' }, /SPANSIFT_ADMIN_KEY: must be at least 16/],
    [{ SPANSIFT_API_PROT: '1' }, /SPANSIFT_API_PROT: not a spansift setting/],
  ]
  for (const [env, message] of cases) {
    assert.throws(
      () => parseConfig(env),
      (error: unknown) => error instanceof ConfigError && message.test(error.message),
    )
  }
})

test('the consumer stall time is whole seconds, 120 by default', () => {
  assert.equal(parseConfig({}).consumerStallSeconds, 120)
  assert.equal(parseConfig({ SPANSIFT_CONSUMER_STALL_SECONDS: '30' }).consumerStallSeconds, 30)
  assert.throws(
    () => parseConfig({ SPANSIFT_CONSUMER_STALL_SECONDS: '0' }),
    /SPANSIFT_CONSUMER_STALL_SECONDS/,
  )
})
