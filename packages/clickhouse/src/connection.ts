import { type ClickHouseClient, createClient } from '@clickhouse/client'
import { DATABASE_NAME_PATTERN } from './tables.ts'

export interface ClickHouseConnectionOptions {
  /** A ClickHouse server (`http[s]://user:pass@host:8123/database`); unset: the embedded engine. */
  url?: string | undefined
  /** Where the embedded engine keeps its data. */
  dataDir: string
  /** Application name reported to the server. */
  applicationName?: string
}

export interface ClickHouseConnection {
  client: ClickHouseClient
  database: string
  embedded: boolean
  close(): Promise<void>
}

const DEFAULT_DATABASE = 'spansift'

/**
 * Settings every session gets, so both engines answer alike: 64-bit integers quoted
 * (nanosecond timestamps do not fit a JS number), and inserts that wait for the part
 * to be written (an acknowledged write is a stored write).
 */
const SESSION_SETTINGS = {
  output_format_json_quote_64bit_integers: 1,
  date_time_input_format: 'best_effort',
  async_insert: 0,
} as const

/**
 * Opens ClickHouse: a server over HTTP when `url` is set, otherwise the embedded
 * engine (chdb) behind the same `@clickhouse/client` API, so every query, the schema
 * and the repositories are one code path for both wirings.
 */
export async function openClickHouse(options: ClickHouseConnectionOptions): Promise<ClickHouseConnection> {
  if (options.url) {
    const url = new URL(options.url)
    const database = url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : DEFAULT_DATABASE
    assertDatabaseName(database)
    url.pathname = '/'
    const client = createClient({
      url: url.toString(),
      application: options.applicationName ?? 'spansift',
      clickhouse_settings: SESSION_SETTINGS,
      request_timeout: 60_000,
    })
    return { client, database, embedded: false, close: () => client.close() }
  }
  // Loaded only in the embedded wiring: a server deployment never needs the native engine.
  const { createChdbConnection } = await import('chdb/connection')
  const connection = createChdbConnection({ path: options.dataDir })
  // chdb types its Connection against @clickhouse/client-common, which @clickhouse/client
  // now bundles as its own copy: the shapes are the same, the declarations are not.
  const client = createClient({
    connection: connection as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'],
    clickhouse_settings: SESSION_SETTINGS,
  })
  return { client, database: DEFAULT_DATABASE, embedded: true, close: () => client.close() }
}

function assertDatabaseName(name: string): void {
  if (!DATABASE_NAME_PATTERN.test(name)) {
    throw new Error(
      `SPANSIFT_CLICKHOUSE_URL names database "${name}": use letters, digits and underscores only`,
    )
  }
}
