import { type ClickHouseClient, createClient } from '@clickhouse/client'
import type { ChdbBinaryInserter } from './chdb-binary-insert.ts'
import { CLUSTER_NAME_PATTERN, DATABASE_NAME_PATTERN } from './tables.ts'

export interface ClickHouseConnectionOptions {
  /** A ClickHouse server (`http[s]://user:pass@host:8123/database`); unset: the embedded engine. */
  url?: string | undefined
  /** Where the embedded engine keeps its data. */
  dataDir: string
  /** Application name reported to the server. */
  applicationName?: string
  /**
   * A cluster of the server's `remote_servers` (SPANSIFT_CLICKHOUSE_CLUSTER): the schema
   * is replicated and sharded over it (cluster-ddl.ts). Needs `url`.
   */
  cluster?: string | undefined
}

export interface ClickHouseConnection {
  client: ClickHouseClient
  database: string
  embedded: boolean
  /** Embedded only: binary inserts on a chdb session of their own (chdb-binary-insert.ts). */
  binaryInserter?: ChdbBinaryInserter
  close(): Promise<void>
}

const DEFAULT_DATABASE = 'spansift'

/**
 * How the embedded engine starts (arguments of the first session on a data directory,
 * which every later session on it shares). Merges run at the lowest CPU priority: they are
 * background work that catches up whenever a core is free, while an insert holds an
 * exporter's acknowledgement and a read holds a user. Measured with
 * load-tests/ingest-benchmark.ts (docs/architecture.md, "Embedded insert path"): API trace
 * read p99 under ingest 83–94 ms against 94–110 ms, stored spans/s ~6% higher.
 */
const EMBEDDED_ENGINE_ARGS = ['--os_threads_nice_value_merge_mutate=19']

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
 * Added in cluster mode, where reads and inserts go through Distributed tables:
 *
 * - `insert_distributed_sync`: an insert returns only once its rows are written on the
 *   shard they belong to (by default a Distributed insert returns when the rows are
 *   queued on the node that took it, to be sent later), so an acknowledged write is a
 *   stored write. The write is on one replica of the shard and reaches the others by
 *   replication; for "on N replicas before acknowledged" set `insert_quorum` in the
 *   spansift user's settings profile on the server (spansift does not override it).
 *   (The setting's newer name is `distributed_foreground_insert`; the old one is kept as
 *   an alias and is also understood by servers older than 23.10.)
 * - `load_balancing = in_order` with `prefer_localhost_replica = 0`: every spansift
 *   process, whichever node it talks to, reads and writes each shard through the same
 *   replica (the first healthy one in `remote_servers`), so a read sees the writes
 *   before it (the dataset writer counts rows it just inserted to hold caps exactly).
 *   Other replicas take over when it fails; until replication catches up a read may
 *   then miss the latest writes. Replicas serve availability, not read scaling.
 * - `optimize_skip_unused_shards`: a query whose WHERE fixes the sharding key (a trace
 *   read, one dataset's rows) is sent only to the shards that can hold the rows.
 */
export const CLUSTER_SESSION_SETTINGS = {
  insert_distributed_sync: 1,
  load_balancing: 'in_order',
  prefer_localhost_replica: 0,
  optimize_skip_unused_shards: 1,
} as const

/** The settings every session gets: single node, or with CLUSTER_SESSION_SETTINGS in cluster mode. */
export function sessionSettings(cluster: string | undefined) {
  return cluster ? { ...SESSION_SETTINGS, ...CLUSTER_SESSION_SETTINGS } : SESSION_SETTINGS
}

/**
 * Opens ClickHouse: a server over HTTP when `url` is set, otherwise the embedded
 * engine (chdb) behind the same `@clickhouse/client` API, so every query, the schema
 * and the repositories are one code path for both wirings.
 */
export async function openClickHouse(options: ClickHouseConnectionOptions): Promise<ClickHouseConnection> {
  if (options.cluster !== undefined) assertClusterName(options.cluster, options.url)
  if (options.url) {
    const url = new URL(options.url)
    const database = url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : DEFAULT_DATABASE
    assertDatabaseName(database)
    url.pathname = '/'
    const client = createClient({
      url: url.toString(),
      application: options.applicationName ?? 'spansift',
      clickhouse_settings: sessionSettings(options.cluster),
      request_timeout: 60_000,
    })
    return { client, database, embedded: false, close: () => client.close() }
  }
  // Loaded only in the embedded wiring: a server deployment never needs the native engine.
  const [{ createChdbConnection }, { Session }, { createChdbBinaryInserter }] = await Promise.all([
    import('chdb/connection'),
    import('chdb'),
    import('./chdb-binary-insert.ts'),
  ])
  // Opened first, so the engine starts with its arguments.
  const insertSession = new Session(options.dataDir, { connectionArgs: EMBEDDED_ENGINE_ARGS })
  const connection = createChdbConnection({ path: options.dataDir })
  // chdb types its Connection against @clickhouse/client-common, which @clickhouse/client
  // now bundles as its own copy: the shapes are the same, the declarations are not.
  const client = createClient({
    connection: connection as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'],
    clickhouse_settings: SESSION_SETTINGS,
  })
  // A second session on the same data directory: inserts run there, beside the reads.
  const binaryInserter = createChdbBinaryInserter({
    dataDir: options.dataDir,
    session: insertSession,
  })
  return {
    client,
    database: DEFAULT_DATABASE,
    embedded: true,
    binaryInserter,
    async close() {
      binaryInserter.close()
      await client.close()
    },
  }
}

function assertClusterName(cluster: string, url: string | undefined): void {
  if (!CLUSTER_NAME_PATTERN.test(cluster)) {
    throw new Error(
      `SPANSIFT_CLICKHOUSE_CLUSTER is "${cluster}": name a cluster of the server's remote_servers with letters, digits and underscores only`,
    )
  }
  if (!url) {
    throw new Error(
      'SPANSIFT_CLICKHOUSE_CLUSTER needs SPANSIFT_CLICKHOUSE_URL: the embedded engine is one node and has no cluster',
    )
  }
}

function assertDatabaseName(name: string): void {
  if (!DATABASE_NAME_PATTERN.test(name)) {
    throw new Error(
      `SPANSIFT_CLICKHOUSE_URL names database "${name}": use letters, digits and underscores only`,
    )
  }
}
