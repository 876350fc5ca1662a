import type { QueryParams, QueryRunner } from './query-runner.ts'
import { type TableNames, tableNames } from './tables.ts'

/**
 * Cluster mode (SPANSIFT_CLICKHOUSE_CLUSTER): the single-node schema, spread over a
 * ClickHouse cluster without a second copy of it.
 *
 * Every table `<t>` of the single-node schema becomes two tables, both created
 * `ON CLUSTER`:
 *
 * - `<t>_local`: the same columns, ORDER BY, PARTITION BY, TTL, SETTINGS and indexes,
 *   with the engine's Replicated form, `Replicated<Engine>('/clickhouse/tables/{shard}/{database}/<t>',
 *   '{replica}', <the engine's own arguments>)`: one copy per replica of each shard;
 * - `<t>`: a Distributed table over them (`AS <t>_local`), under the name every query
 *   already uses, so reads and inserts need no change.
 *
 * The single-node migrations stay the one source of the schema: `clusterStatements`
 * turns each statement into its cluster form, and a statement it has no rule for is
 * refused (the unit tests run every migration through it, so a new migration the
 * translation cannot handle fails there, not at a deployment).
 *
 * What the repositories' statements need in cluster mode (each was checked):
 *
 * - Reads with FINAL (every table) go through the Distributed table, which runs FINAL
 *   on each shard. That is exact because every sharding key below is a function of the
 *   table's ORDER BY columns: all versions of one row live on one shard. LIMIT 1 BY,
 *   uniqExact, count() and ORDER BY … LIMIT merge across shards as they should.
 * - Inserts (`runner.insert`, `INSERT … SELECT` of copyVersion) go through the
 *   Distributed table with `insert_distributed_sync` (see CLUSTER_SESSION_SETTINGS in
 *   connection.ts): the insert returns once the rows are written on their shard, so an
 *   acknowledged write is a stored write, as on one node.
 * - Mutations cannot run on a Distributed table (it refuses `DELETE FROM`, and holds no
 *   data or TTL to change), so `DELETE` (deleteDataset), `OPTIMIZE` and every `ALTER`
 *   (the retention's `MODIFY TTL`, migrations) go to `<t>_local ON CLUSTER`; column
 *   changes go to both (the Distributed table has its own column list). The server
 *   substitutes a DELETE's query parameters before the statement enters the ON CLUSTER
 *   queue (ClickHouse replaces parameters right after parsing; not provable without a
 *   server, see cluster-schema.integration.test.ts for what is proven).
 */

/**
 * How the rows of each table are spread over the shards: a Distributed sharding key.
 * A key must be a function of the table's ORDER BY columns (see above).
 *
 * - `spans` by `cityHash64(trace_id)`, not by application. Every span lookup names its
 *   trace: a trace read (`trace_id =`) reaches one shard, and from-spans (`trace_id IN`
 *   up to 200 refs) only the shards of those traces (with `optimize_skip_unused_shards`).
 *   A whole trace on one shard also keeps trace-level work local. Sharding by application
 *   would make from-spans touch one shard too, but would put all of a large
 *   application's spans, and every scan of them, on one shard: the skew sharding is
 *   meant to remove. Kafka keys messages by trace id for the same reason.
 * - `datasets` by `cityHash64(id)`, `dataset_versions` and `dataset_items` by
 *   `cityHash64(dataset_id)`: one dataset's row, versions and items share a shard (the
 *   same UUID hashes alike), so the dataset writer's count, leakage check and
 *   draft-seeding copy of one dataset read one shard. A dataset is at most 1,000,000
 *   rows, small for one shard.
 * - The small bookkeeping tables (`schema_migrations`, `applications`, `api_keys`, `api_key_usage`,
 *   `rule_backfills`) are not sharded: the constant key `0` puts all their rows on the
 *   first shard (replicated like every other shard), so each is one small table.
 * - `review_claims` by `cityHash64(dataset_id)`, beside the dataset's items it holds.
 *
 * `satisfies Record<keyof TableNames, …>`: a new table without a sharding key does not compile.
 */
export const SHARDING_KEYS = {
  migrations: '0',
  applications: '0',
  apiKeys: '0',
  apiKeyUsage: '0',
  spans: 'cityHash64(trace_id)',
  datasets: 'cityHash64(id)',
  datasetVersions: 'cityHash64(dataset_id)',
  datasetItems: 'cityHash64(dataset_id)',
  ruleBackfills: '0',
  // Like spans: a span's content events live on the shard of its trace.
  spanContentEvents: 'cityHash64(trace_id)',
  reviewClaims: 'cityHash64(dataset_id)',
} as const satisfies Record<keyof TableNames, string>

/**
 * Settings of every statement sent `ON CLUSTER`: the query fails if any host failed
 * (`throw`), and answers only once every host is done (`wait_end_of_query`, so an error
 * arrives as an HTTP error, not after a 200 header). The wait for hosts stays under the
 * client's 60 s request timeout, so a host that is down is reported by ClickHouse (which
 * names it) rather than by a client time-out.
 */
export const ON_CLUSTER_SETTINGS = {
  distributed_ddl_output_mode: 'throw',
  distributed_ddl_task_timeout: 50,
  wait_end_of_query: 1,
} as const

/** The cluster and database the statements are for. Both are validated identifiers. */
export interface ClusterTarget {
  cluster: string
  database: string
}

/** A statement that has no cluster form: it would do the wrong thing on a cluster. */
export class ClusterDdlError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ClusterDdlError'
  }
}

/** The local (replicated, data-holding) table behind a Distributed `name`. */
export const localTableName = (name: string): string => `${name}_local`

const IDENT = '([A-Za-z_][A-Za-z0-9_]*)'
const PASS_THROUGH = /^\s*(SELECT|INSERT|WITH|EXPLAIN|SHOW|DESCRIBE|DESC|EXISTS)\b/i
const CREATE_DATABASE = new RegExp(`^\\s*CREATE\\s+DATABASE\\s+IF\\s+NOT\\s+EXISTS\\s+${IDENT}\\s*$`, 'i')
const CREATE_TABLE = new RegExp(
  `^\\s*CREATE\\s+TABLE\\s+IF\\s+NOT\\s+EXISTS\\s+${IDENT}\\.${IDENT}\\s*\\(`,
  'i',
)
const ENGINE = /^\s*ENGINE\s*=\s*([A-Za-z][A-Za-z0-9_]*)/i
const ALTER = new RegExp(
  `^\\s*ALTER\\s+TABLE\\s+${IDENT}\\.${IDENT}\\s+(?!ON\\s+CLUSTER\\b)([\\s\\S]+)$`,
  'i',
)
const DELETE = new RegExp(`^\\s*DELETE\\s+FROM\\s+${IDENT}\\.${IDENT}\\s+(WHERE\\b[\\s\\S]+)$`, 'i')
const OPTIMIZE = new RegExp(`^\\s*OPTIMIZE\\s+TABLE\\s+${IDENT}\\.${IDENT}(\\s[\\s\\S]*)?$`, 'i')
const COLUMN_OPERATION = /^\s*(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b/i
const DROP_COLUMN = /^\s*DROP\s+COLUMN\b/i

/**
 * The statements that do, on the cluster, what `sql` does on one node:
 *
 * - SELECT, INSERT (also INSERT … SELECT), EXPLAIN, SHOW: unchanged, they go through the Distributed tables;
 * - `CREATE DATABASE IF NOT EXISTS d`: the same, ON CLUSTER;
 * - `CREATE TABLE IF NOT EXISTS d.t (…) ENGINE = XMergeTree(args) …`: `d.t_local` with
 *   ReplicatedXMergeTree and everything else verbatim, then the Distributed `d.t` over it;
 * - `ALTER TABLE d.t …`: on `d.t_local` ON CLUSTER; column changes also on `d.t`
 *   (after the local tables when adding, before them when dropping);
 * - `DELETE FROM d.t WHERE …`, `OPTIMIZE TABLE d.t …`: on `d.t_local` ON CLUSTER.
 *
 * Anything else (DROP, RENAME, views, a table spansift does not know) throws
 * ClusterDdlError rather than run half right.
 */
export function clusterStatements(sql: string, target: ClusterTarget): string[] {
  if (PASS_THROUGH.test(sql)) return [sql]
  const onCluster = `ON CLUSTER '${target.cluster}'`
  const database = CREATE_DATABASE.exec(sql)
  if (database) {
    assertDatabase(database[1]!, target, sql)
    return [`CREATE DATABASE IF NOT EXISTS ${database[1]} ${onCluster}`]
  }
  const create = CREATE_TABLE.exec(sql)
  if (create) return createTableStatements(sql, create, target)
  const alter = ALTER.exec(sql)
  if (alter) {
    const [, db, name, operations] = alter as unknown as [string, string, string, string]
    tableKey(db, name, target, sql)
    const local = `ALTER TABLE ${db}.${localTableName(name)} ${onCluster} ${operations}`
    const parts = splitTopLevel(operations, ',')
    const columnParts = parts.filter((part) => COLUMN_OPERATION.test(part))
    if (columnParts.length === 0) return [local]
    if (columnParts.length !== parts.length)
      throw new ClusterDdlError(`split column changes from other changes to have a cluster form: ${sql}`)
    const distributed = `ALTER TABLE ${db}.${name} ${onCluster} ${operations}`
    const drops = parts.filter((part) => DROP_COLUMN.test(part)).length
    if (drops === 0) return [local, distributed]
    if (drops === parts.length) return [distributed, local]
    throw new ClusterDdlError(
      `split dropping columns from other column changes to have a cluster form: ${sql}`,
    )
  }
  const mutation = DELETE.exec(sql)
  if (mutation) {
    const [, db, name, where] = mutation as unknown as [string, string, string, string]
    tableKey(db, name, target, sql)
    return [`DELETE FROM ${db}.${localTableName(name)} ${onCluster} ${where}`]
  }
  const optimize = OPTIMIZE.exec(sql)
  if (optimize) {
    const [, db, name, rest] = optimize as unknown as [string, string, string, string | undefined]
    tableKey(db, name, target, sql)
    return [`OPTIMIZE TABLE ${db}.${localTableName(name)} ${onCluster}${rest ?? ''}`]
  }
  throw new ClusterDdlError(`no cluster form for this statement: ${sql.trim().slice(0, 200)}`)
}

function createTableStatements(sql: string, match: RegExpExecArray, target: ClusterTarget): string[] {
  const [head, db, name] = match as unknown as [string, string, string]
  const key = tableKey(db, name, target, sql)
  const open = head.length - 1
  const close = matchingParen(sql, open)
  const columns = sql.slice(open + 1, close)
  const afterColumns = sql.slice(close + 1)
  const engine = ENGINE.exec(afterColumns)
  if (!engine) throw new ClusterDdlError(`a table needs an explicit ENGINE to have a cluster form: ${sql}`)
  const engineName = engine[1]!
  if (!/MergeTree$/.test(engineName) || /^Replicated/.test(engineName))
    throw new ClusterDdlError(`only a non-replicated *MergeTree engine has a cluster form, got ${engineName}`)
  let rest = afterColumns.slice(engine[0].length)
  let engineArgs = ''
  const argsOpen = /^\s*\(/.exec(rest)
  if (argsOpen) {
    const argsClose = matchingParen(rest, argsOpen[0].length - 1)
    engineArgs = rest.slice(argsOpen[0].length, argsClose).trim()
    rest = rest.slice(argsClose + 1)
  }
  const onCluster = `ON CLUSTER '${target.cluster}'`
  const local = localTableName(name)
  // The path names the table literally, not with {table}: `<t>_local` is an
  // implementation name, and the path must not change if it ever does.
  const replicatedArgs = [`'/clickhouse/tables/{shard}/{database}/${name}'`, "'{replica}'"]
  if (engineArgs !== '') replicatedArgs.push(engineArgs)
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.${local} ${onCluster} (${columns}) ENGINE = Replicated${engineName}(${replicatedArgs.join(', ')})${rest}`,
    `CREATE TABLE IF NOT EXISTS ${db}.${name} ${onCluster} AS ${db}.${local} ENGINE = Distributed('${target.cluster}', '${db}', '${local}', ${SHARDING_KEYS[key]})`,
  ]
}

function assertDatabase(db: string, target: ClusterTarget, sql: string): void {
  if (db !== target.database)
    throw new ClusterDdlError(`statement names database ${db}, not ${target.database}: ${sql}`)
}

/** The table's key in TableNames; a table spansift does not know has no cluster form. */
function tableKey(db: string, name: string, target: ClusterTarget, sql: string): keyof TableNames {
  assertDatabase(db, target, sql)
  const names = tableNames(target.database)
  const qualified = `${db}.${name}`
  const key = (Object.keys(names) as Array<keyof TableNames>).find((k) => names[k] === qualified)
  if (!key) throw new ClusterDdlError(`${qualified} is not a spansift table (see tables.ts): ${sql}`)
  return key
}

/** Index of the parenthesis closing the one at `open`, skipping quoted strings and identifiers. */
function matchingParen(text: string, open: number): number {
  let depth = 0
  for (let i = open; i < text.length; i++) {
    const c = text[i]
    if (c === "'" || c === '`' || c === '"') {
      i = endOfQuoted(text, i)
    } else if (c === '(') {
      depth++
    } else if (c === ')') {
      depth--
      if (depth === 0) return i
    }
  }
  throw new ClusterDdlError(`unbalanced parentheses: ${text.slice(open, open + 200)}`)
}

/** Index of the quote closing the quoted text starting at `start` (backslash escapes and doubled quotes). */
function endOfQuoted(text: string, start: number): number {
  const quote = text[start]
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++
    else if (text[i] === quote) {
      if (text[i + 1] === quote) i++
      else return i
    }
  }
  throw new ClusterDdlError(`unterminated quote: ${text.slice(start, start + 200)}`)
}

/** `text` split at `separator` where it is outside brackets and quotes. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = []
  let depth = 0
  let from = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === "'" || c === '`' || c === '"') i = endOfQuoted(text, i)
    else if ('([{'.includes(c)) depth++
    else if (')]}'.includes(c)) depth--
    else if (c === separator && depth === 0) {
      parts.push(text.slice(from, i))
      from = i + 1
    }
  }
  parts.push(text.slice(from))
  return parts
}

/**
 * A QueryRunner for cluster mode: every `command` runs as its cluster form
 * (clusterStatements), statements sent ON CLUSTER with ON_CLUSTER_SETTINGS; selects and
 * inserts are the wrapped runner's, through the Distributed tables.
 */
export function createClusterQueryRunner(runner: QueryRunner, cluster: string): QueryRunner {
  const target = { cluster, database: runner.database }
  return {
    database: runner.database,
    select: (tag, sql, params) => runner.select(tag, sql, params),
    insert: (tag, table, rows) => runner.insert(tag, table, rows),
    binaryInserts: runner.binaryInserts,
    insertRowBinary: (tag, table, columns, body, settings) =>
      runner.insertRowBinary(tag, table, columns, body, settings),
    async command(
      tag: string,
      sql: string,
      params?: QueryParams,
      settings?: Record<string, string | number>,
    ) {
      const statements = clusterStatements(sql, target)
      if (statements.length === 1 && statements[0] === sql) return runner.command(tag, sql, params, settings)
      for (const statement of statements) {
        await runner.command(tag, statement, params, { ...settings, ...ON_CLUSTER_SETTINGS })
      }
    },
  }
}
