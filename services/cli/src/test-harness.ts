import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createJsonLogger } from '@spansift/core/logger'
import type { Span } from '@spansift/core/span-model'
import { parseConfig } from './config.ts'
import { createSpansift, type Spansift, type SpansiftOptions } from './spansift.ts'

export const ADMIN_KEY = 'test-admin-key-0123456789'

export interface RunningSpansift {
  spansift: Spansift
  otlpUrl: string
  /** The OTLP/gRPC receiver's `host:port` (a gRPC target, no scheme). */
  otlpGrpcAddress: string
  apiUrl: string
  /** The ops server's base URL (`/metrics`, `/healthz`, `/readyz`). */
  metricsUrl: string
  /** Calls the API with a key and a JSON body; returns status and parsed body. */
  api(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: any }>
  /** Creates an application and one key for it. */
  createApplication(name: string): Promise<{ id: string; key: string }>
  stop(): Promise<void>
}

/**
 * Starts the real spansift (embedded bus, embedded ClickHouse in a fresh directory, or
 * the server named by SPANSIFT_CLICKHOUSE_URL) on ephemeral loopback ports.
 */
export async function startSpansift(
  env: Record<string, string> = {},
  options: SpansiftOptions = {},
): Promise<RunningSpansift> {
  const dataDir = mkdtempSync(join(tmpdir(), 'spansift-it-'))
  // No rules unless the test names its own directory.
  const rulesDir = join(dataDir, 'rules')
  mkdirSync(rulesDir)
  const config = parseConfig({
    SPANSIFT_OTLP_HTTP_PORT: '0',
    SPANSIFT_OTLP_GRPC_PORT: '0',
    SPANSIFT_API_PORT: '0',
    SPANSIFT_METRICS_PORT: '0',
    SPANSIFT_DATA_DIR: dataDir,
    SPANSIFT_ADMIN_KEY: ADMIN_KEY,
    SPANSIFT_RULES_DIR: rulesDir,
    SPANSIFT_CLICKHOUSE_URL: process.env.SPANSIFT_CLICKHOUSE_URL ?? '',
    ...env,
  })
  const logger = createJsonLogger({
    level: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'error',
    sink: process.stderr,
  })
  const spansift = createSpansift(config, logger, options)
  await spansift.start()
  const ports = spansift.ports()
  const apiUrl = `http://127.0.0.1:${ports.api}`
  const api: RunningSpansift['api'] = async (method, path, key, body) => {
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    return { status: response.status, body: text ? JSON.parse(text) : undefined }
  }
  return {
    spansift,
    otlpUrl: `http://127.0.0.1:${ports.otlpHttp}/v1/traces`,
    otlpGrpcAddress: `127.0.0.1:${ports.otlpGrpc}`,
    apiUrl,
    metricsUrl: `http://127.0.0.1:${ports.metrics}`,
    api,
    async createApplication(name) {
      const app = await api('POST', '/v1/applications', ADMIN_KEY, { name })
      if (app.status !== 201) throw new Error(`create application: ${app.status} ${JSON.stringify(app.body)}`)
      const key = await api('POST', `/v1/applications/${app.body.id}/keys`, ADMIN_KEY)
      if (key.status !== 201) throw new Error(`create key: ${key.status} ${JSON.stringify(key.body)}`)
      return { id: app.body.id, key: key.body.key }
    },
    async stop() {
      await spansift.shutdown()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** An RFC 3339 range around now, wide enough for spans just sent. */
export function rangeAroundNow(): string {
  const now = Date.now()
  return `start_time=${new Date(now - 3_600_000).toISOString()}&end_time=${new Date(now + 3_600_000).toISOString()}`
}

/** A recent span (spans older than the retention are dropped on insert) for direct inserts in tests. */
export function recentSpan(
  overrides: Partial<Span> & { applicationId: string; traceId: string; spanId: string },
): Span {
  const start = BigInt(Date.now() - 3_600_000) * 1_000_000n
  return {
    parentSpanId: '',
    traceState: '',
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: start,
    endTimeUnixNano: start + 1_000_000_000n,
    durationNano: 1_000_000_000n,
    statusCode: 1,
    statusMessage: '',
    serviceName: 'support-bot',
    scopeName: 'openai',
    scopeVersion: '1.0.0',
    resourceAttributes: { 'service.name': 'support-bot' },
    attributes: {},
    events: [],
    links: [],
    flags: 1,
    ...overrides,
  }
}

/** Random lowercase hex of `bytes` bytes (trace ids: 16, span ids: 8). */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex')
}
