import type { ClickHouseClient } from '@clickhouse/client'
import type { Logger } from '@spansift/core/logger'
import { retry } from '@spansift/core/retry'
import { StorageRejectedError, StorageUnavailableError } from '@spansift/core/storage-errors'
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

/**
 * ClickHouse error codes (src/Common/ErrorCodes.cpp) that mean the engine refused the data
 * itself: the same rows fail the same way on every attempt.
 */
export const DATA_REJECTED_CODES: ReadonlyMap<number, string> = new Map([
  [6, 'CANNOT_PARSE_TEXT'],
  [25, 'CANNOT_PARSE_ESCAPE_SEQUENCE'],
  [26, 'CANNOT_PARSE_QUOTED_STRING'],
  [27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED'],
  [38, 'CANNOT_PARSE_DATE'],
  [41, 'CANNOT_PARSE_DATETIME'],
  [53, 'TYPE_MISMATCH'],
  [69, 'ARGUMENT_OUT_OF_BOUND'],
  [70, 'CANNOT_CONVERT_TYPE'],
  [72, 'CANNOT_PARSE_NUMBER'],
  [117, 'INCORRECT_DATA'],
  [131, 'TOO_LARGE_STRING_SIZE'],
  [321, 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE'],
  [349, 'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN'],
  [376, 'CANNOT_PARSE_UUID'],
  [407, 'DECIMAL_OVERFLOW'],
])

/** ClickHouse error codes of a server that is there but cannot take the query now: worth retrying later. */
export const SERVER_BUSY_CODES: ReadonlyMap<number, string> = new Map([
  [159, 'TIMEOUT_EXCEEDED'],
  [202, 'TOO_MANY_SIMULTANEOUS_QUERIES'],
  [209, 'SOCKET_TIMEOUT'],
  [210, 'NETWORK_ERROR'],
  [241, 'MEMORY_LIMIT_EXCEEDED'],
  [242, 'TABLE_IS_READ_ONLY'],
  [252, 'TOO_MANY_PARTS'],
  [319, 'UNKNOWN_STATUS_OF_INSERT'],
])

/**
 * The numeric ClickHouse error code of `error`, if it carries one: `ClickHouseError.code`
 * (a decimal string, from the HTTP client and from chdb alike) or chdb's own
 * `clickhouseCode`, on the error or its causes.
 */
export function clickHouseErrorCode(error: unknown): number | undefined {
  let current: unknown = error
  for (let depth = 0; current && depth < 4; depth++) {
    const { code, clickhouseCode } = current as { code?: unknown; clickhouseCode?: unknown }
    if (typeof clickhouseCode === 'number') return clickhouseCode
    if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code)
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/**
 * Types a failed query by how it may be handled (never by its message text): storage
 * refused the data (`StorageRejectedError`, permanent), storage unreachable or busy
 * (`StorageUnavailableError`, retryable), or anything else (a bug: the error as it was).
 */
export function classifyStorageError(error: unknown): unknown {
  if (error instanceof StorageRejectedError || error instanceof StorageUnavailableError) return error
  const message = error instanceof Error ? error.message : String(error)
  if (isNetworkError(error)) return new StorageUnavailableError(message, { cause: error })
  const code = clickHouseErrorCode(error)
  if (code === undefined) return error
  if (DATA_REJECTED_CODES.has(code)) return new StorageRejectedError(message, { code, cause: error })
  if (SERVER_BUSY_CODES.has(code)) return new StorageUnavailableError(message, { cause: error })
  return error
}

export interface QueryRunnerOptions {
  client: ClickHouseClient
  database: string
  logger: Logger
  /** Attempts for a network failure; other failures are never retried. */
  attempts?: number
  /** The first retry's delay; later ones back off exponentially, with jitter. */
  retryDelayMs?: number
  /** The embedded engine's binary insert path, when there is one. */
  binaryInserter?: ChdbBinaryInserter | undefined
}

/**
 * The one way spansift talks to ClickHouse: parameters only, a `log_comment` tag on
 * every query (so `system.query_log` says who asked), retries for network errors
 * alone, and failures typed by `classifyStorageError`. Inserts are safe to retry because
 * every table spansift writes deduplicates.
 */
export function createQueryRunner(options: QueryRunnerOptions): QueryRunner {
  const { client, logger } = options
  const attempts = options.attempts ?? 3
  const retryDelayMs = options.retryDelayMs ?? 200

  const withRetry = <T>(tag: string, run: () => Promise<T>): Promise<T> =>
    retry(run, {
      retries: attempts - 1,
      minDelayMs: retryDelayMs,
      maxDelayMs: retryDelayMs * 8,
      shouldRetry: isNetworkError,
      onRetry: (error, attempt, delay) =>
        logger.warn('clickhouse network error, retrying', { tag, attempt, delay, error }),
    }).catch((error: unknown) => {
      throw classifyStorageError(error)
    })

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
