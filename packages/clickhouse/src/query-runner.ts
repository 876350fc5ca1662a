import type { ClickHouseClient } from '@clickhouse/client'
import type { Logger } from '@spansift/core/logger'
import type { ChdbBinaryInserter, RowBinaryColumns } from './chdb-binary-insert.ts'
import { sessionSettings } from './connection.ts'

/** Values bound to `{name:Type}` placeholders. Nothing is ever spliced into SQL text. */
export type QueryParams = Record<string, unknown>

export interface QueryRunner {
  /** Runs a SELECT and returns its rows. `tag` names the call site in `log_comment`. */
  select<Row>(tag: string, sql: string, params?: QueryParams): Promise<Row[]>
  /** Runs a statement that returns no rows (DDL, ALTER, OPTIMIZE), with optional query-level settings. */
  command(
    tag: string,
    sql: string,
    params?: QueryParams,
    settings?: Record<string, string | number>,
  ): Promise<void>
  /** Inserts rows as JSONEachRow. */
  insert(tag: string, table: string, rows: readonly object[]): Promise<void>
  /** True when `insertRowBinary` is available (the embedded engine); otherwise insert JSON rows. */
  readonly binaryInserts: boolean
  /**
   * Inserts a RowBinary batch of `columns` (the concatenation of `body`), with the session
   * settings and `settings` in the INSERT's SETTINGS clause. Only where `binaryInserts` is true.
   */
  insertRowBinary(
    tag: string,
    table: string,
    columns: RowBinaryColumns,
    body: readonly Uint8Array[],
    settings?: Record<string, string | number>,
  ): Promise<void>
  readonly database: string
}

/** Errors from the network below ClickHouse, the only ones worth retrying: the server never saw, or never answered, the query. */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
])

/** True for a network failure (by error code, never by message text). */
export function isNetworkError(error: unknown): boolean {
  let current: unknown = error
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && RETRYABLE_NETWORK_CODES.has(code)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

export interface QueryRunnerOptions {
  client: ClickHouseClient
  database: string
  logger: Logger
  /** Attempts for a network failure; other failures are never retried. */
  attempts?: number
  retryDelayMs?: number
  /** The embedded engine's binary insert path, when there is one. */
  binaryInserter?: ChdbBinaryInserter | undefined
}

/**
 * The one way spansift talks to ClickHouse: parameters only, a `log_comment` tag on
 * every query (so `system.query_log` says who asked), and retries for network errors
 * alone. Inserts are safe to retry because every table spansift writes deduplicates.
 */
export function createQueryRunner(options: QueryRunnerOptions): QueryRunner {
  const { client, logger } = options
  const attempts = options.attempts ?? 3
  const retryDelayMs = options.retryDelayMs ?? 200

  async function withRetry<T>(tag: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run()
      } catch (error) {
        if (attempt >= attempts || !isNetworkError(error)) throw error
        logger.warn('clickhouse network error, retrying', { tag, attempt, error })
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs * attempt))
      }
    }
  }

  const settings = (tag: string, extra?: Record<string, string | number>) => ({
    ...extra,
    log_comment: `spansift:${tag}`,
  })

  const { binaryInserter } = options
  return {
    database: options.database,
    binaryInserts: binaryInserter !== undefined,
    select: <Row>(tag: string, sql: string, params?: QueryParams) =>
      withRetry(tag, async () => {
        const result = await client.query({
          query: sql,
          query_params: params ?? {},
          format: 'JSONEachRow',
          clickhouse_settings: settings(tag),
        })
        return (await result.json()) as Row[]
      }),
    command: (tag: string, sql: string, params?: QueryParams, extra?: Record<string, string | number>) =>
      withRetry(tag, async () => {
        await client.command({
          query: sql,
          query_params: params ?? {},
          clickhouse_settings: settings(tag, extra),
        })
      }),
    insert: (tag: string, table: string, rows: readonly object[]) =>
      withRetry(tag, async () => {
        if (rows.length === 0) return
        await client.insert({
          table,
          values: rows as object[],
          format: 'JSONEachRow',
          clickhouse_settings: settings(tag),
        })
      }),
    insertRowBinary: (tag, table, columns, body, extra) =>
      withRetry(tag, async () => {
        if (!binaryInserter) throw new Error('RowBinary inserts need the embedded engine (see binaryInserts)')
        // The session settings go in the INSERT's own SETTINGS clause: chdb would run each
        // of them as a SET statement in front of the insert otherwise.
        await binaryInserter.insert(table, columns, body, {
          ...sessionSettings(undefined),
          ...settings(tag, extra),
        })
      }),
  }
}
