import { CLUSTER_NAME_PATTERN } from '@spansift/clickhouse/tables'
import { DEFAULT_SPAN_LIMITS, type SpanLimits } from '@spansift/core/otlp/span-limits'
import { z } from 'zod'

const port = z.coerce.number().int().min(0).max(65535)
const logLevel = z.enum(['debug', 'info', 'warn', 'error', 'silent'])
const limit = (fallback: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1)
    .default(fallback)
const DAY_MS = 86_400_000

/** Every environment variable spansift reads. Anything else starting with SPANSIFT_ is refused as a likely typo. */
const environmentSchema = z.strictObject({
  SPANSIFT_HOST: z.string().min(1).default('127.0.0.1'),
  SPANSIFT_OTLP_HTTP_PORT: port.default(4318),
  SPANSIFT_OTLP_GRPC_PORT: port.default(4317),
  SPANSIFT_API_PORT: port.default(8080),
  SPANSIFT_METRICS_PORT: port.default(9464),
  SPANSIFT_DATA_DIR: z.string().min(1).default('./data'),
  SPANSIFT_CLICKHOUSE_URL: z
    .url({
      protocol: /^https?$/,
      message: 'must be an http(s) URL such as http://user:pass@host:8123/spansift',
    })
    .optional(),
  SPANSIFT_CLICKHOUSE_CLUSTER: z
    .string()
    .regex(CLUSTER_NAME_PATTERN, {
      message: 'must be the name of a cluster in the server remote_servers: letters, digits and underscores',
    })
    .optional(),
  SPANSIFT_KAFKA_BROKERS: z
    .string()
    .regex(/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/, { message: 'must be a comma-separated host:port list' })
    .optional(),
  SPANSIFT_KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(10_000).default(6),
  SPANSIFT_KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(32_767).optional(),
  SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).max(32_767).optional(),
  SPANSIFT_CONSUMER_STALL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
  // Under the consumers' 10 s session timeout (see the consumer loop).
  SPANSIFT_KAFKA_HANDOVER_MS: z.coerce.number().int().min(0).max(9_000).default(5_000),
  SPANSIFT_RULES_DIR: z.string().min(1).default('./rules'),
  SPANSIFT_ADMIN_KEY: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  SPANSIFT_SPAN_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  SPANSIFT_KEY_CACHE_SECONDS: z.coerce.number().int().min(1).max(300).default(5),
  SPANSIFT_KEY_USAGE_FLUSH_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  SPANSIFT_LOG_LEVEL: logLevel.default('info'),
  // Per-span limits, named after the OpenTelemetry SDK's (OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT...).
  SPANSIFT_SPAN_ATTRIBUTE_COUNT_LIMIT: limit(DEFAULT_SPAN_LIMITS.attributeCount),
  SPANSIFT_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: limit(DEFAULT_SPAN_LIMITS.attributeValueLength),
  SPANSIFT_SPAN_EVENT_COUNT_LIMIT: limit(DEFAULT_SPAN_LIMITS.eventCount),
  SPANSIFT_SPAN_LINK_COUNT_LIMIT: limit(DEFAULT_SPAN_LIMITS.linkCount),
  SPANSIFT_EVENT_ATTRIBUTE_COUNT_LIMIT: limit(DEFAULT_SPAN_LIMITS.eventAttributeCount),
  SPANSIFT_LINK_ATTRIBUTE_COUNT_LIMIT: limit(DEFAULT_SPAN_LIMITS.linkAttributeCount),
  SPANSIFT_SPAN_NAME_LENGTH_LIMIT: limit(DEFAULT_SPAN_LIMITS.nameLength),
  SPANSIFT_SPAN_MAX_AGE_DAYS: z.coerce.number().int().min(1).max(3650).optional(),
  SPANSIFT_SPAN_MAX_FUTURE_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(DEFAULT_SPAN_LIMITS.maxFutureMs / 60_000),
  SPANSIFT_API_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(4 * 1024 * 1024),
})

export type Environment = z.infer<typeof environmentSchema>

/** The validated configuration every service is built from. Parsed once, in main. */
export interface Config {
  host: string
  otlpHttpPort: number
  otlpGrpcPort: number
  apiPort: number
  /** The ops server: /metrics, /healthz, /readyz (every role). */
  metricsPort: number
  dataDir: string
  clickhouseUrl: string | undefined
  /** The ClickHouse cluster the schema is sharded and replicated over (needs clickhouseUrl). */
  clickhouseCluster: string | undefined
  kafkaBrokers: string[] | undefined
  /** Partitions of `spansift.spans` when spansift creates it. */
  kafkaPartitions: number
  /** How long a consumer waits after gaining a partition before processing it. */
  kafkaHandoverMs: number
  /** Replicas of the topics spansift creates; undefined: min(3, the cluster's brokers). */
  kafkaReplicationFactor: number | undefined
  /** `min.insync.replicas` of the topics spansift creates; undefined: the brokers' default. */
  kafkaMinInsyncReplicas: number | undefined
  /** A Kafka consumer with lag that commits nothing this long fails /readyz (and `spansift_kafka_consumer_stalled`). */
  consumerStallSeconds: number
  rulesDir: string
  adminKey: string | undefined
  spanRetentionDays: number
  /** How long a process trusts a known API key before looking it up again: a revocation reaches it within this. */
  keyCacheSeconds: number
  /** How often a process writes its keys' last use. */
  keyUsageFlushSeconds: number
  /** What one exported span may carry, and the time window it must fall in. */
  spanLimits: SpanLimits
  /** The largest API request body; larger ones get 413 before they are parsed. */
  apiMaxBodyBytes: number
  logLevel: z.infer<typeof logLevel>
}

/** A configuration value that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Validates the SPANSIFT_* variables of `env` into a Config; throws ConfigError naming each bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const relevant = Object.fromEntries(
    Object.entries(env).filter(
      ([key, value]) => key.startsWith('SPANSIFT_') && value !== undefined && value !== '',
    ),
  )
  const result = environmentSchema.safeParse(relevant)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') return `${issue.keys.join(', ')}: not a spansift setting`
      return `${issue.path.join('.')}: ${issue.message}`
    })
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`)
  }
  const e = result.data
  const problems = combinationProblems(e)
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`)
  return {
    host: e.SPANSIFT_HOST,
    otlpHttpPort: e.SPANSIFT_OTLP_HTTP_PORT,
    otlpGrpcPort: e.SPANSIFT_OTLP_GRPC_PORT,
    apiPort: e.SPANSIFT_API_PORT,
    metricsPort: e.SPANSIFT_METRICS_PORT,
    dataDir: e.SPANSIFT_DATA_DIR,
    clickhouseUrl: e.SPANSIFT_CLICKHOUSE_URL,
    clickhouseCluster: e.SPANSIFT_CLICKHOUSE_CLUSTER,
    kafkaBrokers: e.SPANSIFT_KAFKA_BROKERS?.split(','),
    kafkaPartitions: e.SPANSIFT_KAFKA_PARTITIONS,
    kafkaReplicationFactor: e.SPANSIFT_KAFKA_REPLICATION_FACTOR,
    kafkaMinInsyncReplicas: e.SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS,
    consumerStallSeconds: e.SPANSIFT_CONSUMER_STALL_SECONDS,
    kafkaHandoverMs: e.SPANSIFT_KAFKA_HANDOVER_MS,
    rulesDir: e.SPANSIFT_RULES_DIR,
    adminKey: e.SPANSIFT_ADMIN_KEY,
    spanRetentionDays: e.SPANSIFT_SPAN_RETENTION_DAYS,
    keyCacheSeconds: e.SPANSIFT_KEY_CACHE_SECONDS,
    keyUsageFlushSeconds: e.SPANSIFT_KEY_USAGE_FLUSH_SECONDS,
    spanLimits: {
      attributeCount: e.SPANSIFT_SPAN_ATTRIBUTE_COUNT_LIMIT,
      attributeValueLength: e.SPANSIFT_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
      eventCount: e.SPANSIFT_SPAN_EVENT_COUNT_LIMIT,
      linkCount: e.SPANSIFT_SPAN_LINK_COUNT_LIMIT,
      eventAttributeCount: e.SPANSIFT_EVENT_ATTRIBUTE_COUNT_LIMIT,
      linkAttributeCount: e.SPANSIFT_LINK_ATTRIBUTE_COUNT_LIMIT,
      nameLength: e.SPANSIFT_SPAN_NAME_LENGTH_LIMIT,
      // Spans older than the retention would be dropped by the TTL as they are inserted:
      // refuse them with the reason instead of acknowledging them.
      maxAgeMs: (e.SPANSIFT_SPAN_MAX_AGE_DAYS ?? e.SPANSIFT_SPAN_RETENTION_DAYS) * DAY_MS,
      maxFutureMs: e.SPANSIFT_SPAN_MAX_FUTURE_MINUTES * 60_000,
    },
    apiMaxBodyBytes: e.SPANSIFT_API_MAX_BODY_BYTES,
    logLevel: e.SPANSIFT_LOG_LEVEL,
  }
}

/** Settings that are each valid but not together; every message names the variable. */
function combinationProblems(e: Environment): string[] {
  const problems: string[] = []
  if (e.SPANSIFT_CLICKHOUSE_CLUSTER !== undefined && e.SPANSIFT_CLICKHOUSE_URL === undefined) {
    problems.push(
      'SPANSIFT_CLICKHOUSE_CLUSTER: needs SPANSIFT_CLICKHOUSE_URL (the embedded engine is one node and has no cluster)',
    )
  }
  if (e.SPANSIFT_KAFKA_BROKERS === undefined) {
    for (const name of ['SPANSIFT_KAFKA_REPLICATION_FACTOR', 'SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS'] as const) {
      if (e[name] !== undefined)
        problems.push(`${name}: needs SPANSIFT_KAFKA_BROKERS (the embedded bus has no topics)`)
    }
  }
  const maxAge = e.SPANSIFT_SPAN_MAX_AGE_DAYS
  if (maxAge !== undefined && maxAge > e.SPANSIFT_SPAN_RETENTION_DAYS) {
    problems.push(
      `SPANSIFT_SPAN_MAX_AGE_DAYS: ${maxAge} exceeds SPANSIFT_SPAN_RETENTION_DAYS (${e.SPANSIFT_SPAN_RETENTION_DAYS}); older spans would be acknowledged and then dropped by the retention TTL`,
    )
  }
  const minInsync = e.SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS
  const replicationFactor = e.SPANSIFT_KAFKA_REPLICATION_FACTOR
  if (minInsync !== undefined && replicationFactor === undefined) {
    problems.push(
      'SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS: needs SPANSIFT_KAFKA_REPLICATION_FACTOR too (it must not exceed it)',
    )
  } else if (minInsync !== undefined && replicationFactor !== undefined && minInsync > replicationFactor) {
    problems.push(
      `SPANSIFT_KAFKA_MIN_INSYNC_REPLICAS: ${minInsync} exceeds SPANSIFT_KAFKA_REPLICATION_FACTOR (${replicationFactor}); acks=all producers could never write`,
    )
  }
  return problems
}
