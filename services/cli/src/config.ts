import { z } from 'zod'

const port = z.coerce.number().int().min(0).max(65535)
const logLevel = z.enum(['debug', 'info', 'warn', 'error', 'silent'])

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
  SPANSIFT_KAFKA_BROKERS: z
    .string()
    .regex(/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/, { message: 'must be a comma-separated host:port list' })
    .optional(),
  SPANSIFT_KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(10_000).default(6),
  SPANSIFT_RULES_DIR: z.string().min(1).default('./rules'),
  SPANSIFT_ADMIN_KEY: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  SPANSIFT_SPAN_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  SPANSIFT_LOG_LEVEL: logLevel.default('info'),
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
  kafkaBrokers: string[] | undefined
  /** Partitions of `spansift.spans` when spansift creates it. */
  kafkaPartitions: number
  rulesDir: string
  adminKey: string | undefined
  spanRetentionDays: number
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
  return {
    host: e.SPANSIFT_HOST,
    otlpHttpPort: e.SPANSIFT_OTLP_HTTP_PORT,
    otlpGrpcPort: e.SPANSIFT_OTLP_GRPC_PORT,
    apiPort: e.SPANSIFT_API_PORT,
    metricsPort: e.SPANSIFT_METRICS_PORT,
    dataDir: e.SPANSIFT_DATA_DIR,
    clickhouseUrl: e.SPANSIFT_CLICKHOUSE_URL,
    kafkaBrokers: e.SPANSIFT_KAFKA_BROKERS?.split(','),
    kafkaPartitions: e.SPANSIFT_KAFKA_PARTITIONS,
    rulesDir: e.SPANSIFT_RULES_DIR,
    adminKey: e.SPANSIFT_ADMIN_KEY,
    spanRetentionDays: e.SPANSIFT_SPAN_RETENTION_DAYS,
    logLevel: e.SPANSIFT_LOG_LEVEL,
  }
}
