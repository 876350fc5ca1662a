import type { Logger } from '@spansift/core/logger'
import { localTableName } from './cluster-ddl.ts'
import type { QueryRunner } from './query-runner.ts'
import { type TableNames, tableNames } from './tables.ts'

/**
 * One schema change. Statements are idempotent DDL (IF NOT EXISTS), so a migration
 * interrupted half way is simply run again. Identifiers come from validated
 * configuration; DDL cannot take query parameters. They are written for one node; in
 * cluster mode each runs as its cluster form (clusterStatements in cluster-ddl.ts), and
 * a statement without one fails the unit tests.
 */
export interface Migration {
  version: number
  name: string
  statements(tables: TableNames): string[]
}

/** spansift's schema, in order. Append; never edit one that has shipped. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'applications and keys',
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.applications} (
        id UUID,
        name String,
        created_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ReplacingMergeTree ORDER BY id`,
      `CREATE TABLE IF NOT EXISTS ${t.apiKeys} (
        key_hash FixedString(64),
        application_id UUID,
        key_prefix String,
        created_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ReplacingMergeTree ORDER BY key_hash`,
    ],
  },
  {
    version: 2,
    name: 'spans',
    // Partitioned by month of start time so every time-bounded lookup prunes to a few
    // partitions; ordered by (application, trace, span) for point lookups; a
    // ReplacingMergeTree so a span written twice (a retried export, a redelivered
    // message) is one row to every FINAL read. The TTL drops whole parts only
    // (ttl_only_drop_parts) instead of rewriting them; its length is reconciled with
    // SPANSIFT_SPAN_RETENTION_DAYS at start (see ensureSpanRetention).
    // Granules of 256 rows, not 8,192: from-spans resolves up to 200 (trace, span) refs
    // a request and each ref costs at least one granule, so coarse granules would read
    // most of an application's month (2% of a 10M-span table in the benchmark; 0.46%
    // with 256). The primary index grows 32× (~250 MB per billion spans). Compressed
    // blocks may be as small as 4 KiB, because a lookup decompresses at least one block
    // per column per granule it reads (~40% lower lookup latency for ~6% more disk).
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.spans} (
        application_id UUID,
        trace_id FixedString(32),
        span_id FixedString(16),
        parent_span_id String,
        trace_state String CODEC(ZSTD(1)),
        name LowCardinality(String),
        kind UInt8,
        start_time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
        end_time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
        duration_ns UInt64,
        status_code UInt8,
        status_message String CODEC(ZSTD(1)),
        service_name LowCardinality(String),
        scope_name LowCardinality(String),
        scope_version LowCardinality(String),
        resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        events String CODEC(ZSTD(1)),
        links String CODEC(ZSTD(1)),
        flags UInt32,
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
        INDEX idx_start_time start_time TYPE minmax GRANULARITY 1,
        INDEX idx_span_id span_id TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_attribute_keys mapKeys(attributes) TYPE bloom_filter(0.01) GRANULARITY 1
      ) ENGINE = ReplacingMergeTree(ingested_at)
      PARTITION BY toYYYYMM(start_time)
      ORDER BY (application_id, trace_id, span_id)
      TTL toDateTime(start_time) + INTERVAL 30 DAY
      SETTINGS ttl_only_drop_parts = 1, index_granularity = 256, min_compress_block_size = 4096`,
    ],
  },
  {
    version: 3,
    name: 'datasets, versions and items',
    // Every change (PATCH, delete, publish, new columns) is a new row version:
    // ReplacingMergeTree(updated_at, is_deleted) keeps the latest and FINAL reads hide
    // deleted rows. updated_at has microseconds and comes from the dataset writer's
    // monotonic clock, so two changes of one row never tie. No TTL: dataset rows are
    // kept until deleted, whatever happens to the spans they came from.
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.datasets} (
        id UUID,
        group_id UInt64,
        application_id UUID,
        name String,
        kind LowCardinality(String),
        exclude_dataset_id Nullable(UUID),
        columns String,
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(6, 'UTC'),
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(updated_at, is_deleted) ORDER BY id`,
      `CREATE TABLE IF NOT EXISTS ${t.datasetVersions} (
        dataset_id UUID,
        version_id UInt64,
        number UInt32,
        status LowCardinality(String),
        created_at DateTime64(3, 'UTC'),
        published_at Nullable(DateTime64(3, 'UTC')),
        updated_at DateTime64(6, 'UTC'),
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(updated_at, is_deleted) ORDER BY (dataset_id, version_id)`,
      // Rows of every version of every dataset; a version's rows are one key range.
      // inputs_hash and the source ids serve the leakage check of training datasets.
      `CREATE TABLE IF NOT EXISTS ${t.datasetItems} (
        dataset_id UUID,
        version_id UInt64,
        item_id UUID,
        application_id UUID,
        trace_id String,
        span_id String,
        span_start_time DateTime64(9, 'UTC'),
        source_kind LowCardinality(String),
        rule_id String,
        inputs String CODEC(ZSTD(1)),
        expected_outputs String CODEC(ZSTD(1)),
        metadata String CODEC(ZSTD(1)),
        extras String CODEC(ZSTD(1)),
        inputs_hash String,
        annotation String CODEC(ZSTD(1)),
        annotation_status LowCardinality(String),
        feedback_category LowCardinality(String),
        expected_output String CODEC(ZSTD(1)),
        priority LowCardinality(String),
        labels Array(String),
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(6, 'UTC'),
        is_deleted UInt8 DEFAULT 0,
        INDEX idx_inputs_hash inputs_hash TYPE bloom_filter(0.01) GRANULARITY 1
      ) ENGINE = ReplacingMergeTree(updated_at, is_deleted) ORDER BY (dataset_id, version_id, item_id)`,
    ],
  },
  {
    version: 4,
    name: 'rules: redacted fields of rows, backfill progress',
    // A new column with a default: existing rows read as "nothing redacted", no rewrite.
    // rule_backfills records, per backfill, the month partitions done, so an interrupted
    // backfill resumes at the first partition not done (appends are idempotent anyway).
    statements: (t) => [
      `ALTER TABLE ${t.datasetItems} ADD COLUMN IF NOT EXISTS redacted_fields Array(String) DEFAULT []`,
      `CREATE TABLE IF NOT EXISTS ${t.ruleBackfills} (
        backfill_id String,
        rule_id String,
        dataset_id UUID,
        from_time DateTime64(9, 'UTC'),
        to_time DateTime64(9, 'UTC'),
        partition_done UInt32,
        spans_scanned UInt64,
        spans_matched UInt64,
        rows_added UInt64,
        updated_at DateTime64(6, 'UTC') DEFAULT now64(6)
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (backfill_id, partition_done)`,
    ],
  },
  {
    version: 7,
    name: 'span content events (GenAI content sent as OTLP log records)',
    // GenAI content events that arrived as log records, kept so they can be attached to
    // their span whichever of the two arrives first (see content-attacher.ts). Partitioned
    // by month and ordered by (application, trace, span) like spans, so the lookup for a
    // batch of spans prunes the same way; the rest of the ORDER BY is the event's identity,
    // so an event sent or delivered twice is one row after merges (reads dedupe as well).
    // `sequence` (the event's position in its export) orders events of one timestamp.
    // The TTL starts at 30 days like the spans' and follows SPANSIFT_SPAN_RETENTION_DAYS
    // (ensureSpanRetention).
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.spanContentEvents} (
        application_id UUID,
        trace_id FixedString(32),
        span_id FixedString(16),
        time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
        sequence UInt32,
        name LowCardinality(String),
        attributes String CODEC(ZSTD(1)),
        ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ReplacingMergeTree(ingested_at)
      PARTITION BY toYYYYMM(time)
      ORDER BY (application_id, trace_id, span_id, time, name, cityHash64(attributes))
      TTL toDateTime(time) + INTERVAL 30 DAY
      SETTINGS ttl_only_drop_parts = 1, index_granularity = 256`,
    ],
  },
  {
    version: 8,
    name: 'review queue claims',
    // A reviewer's lease on a row. A release is a later version of the claim row
    // (released = 1); claimed_at is stamped by the server and orders rival claims of one
    // row (the oldest live one holds it). Claims expire on their own; the TTL drops them.
    statements: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.reviewClaims} (
        dataset_id UUID,
        item_id UUID,
        claim_id UUID,
        reviewer String,
        claimed_at DateTime64(9, 'UTC'),
        expires_at DateTime64(3, 'UTC'),
        released UInt8 DEFAULT 0,
        updated_at DateTime64(6, 'UTC') DEFAULT now64(6)
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (dataset_id, item_id, claim_id)
      TTL toDateTime(expires_at) + INTERVAL 1 DAY`,
    ],
  },
  {
    version: 9,
    name: 'spans: no span_id bloom filter',
    // Every query naming a span names its trace too, and the primary key (application,
    // trace, span) already narrows such a query to the granules of the trace: on 10M
    // spans the bloom filter kept 179 of the 181 granules a from-spans lookup of 200 refs
    // reads, while every insert paid for it (figures in docs/architecture.md). The
    // attribute-keys filter stays: a rule backfill's mapContains on a rare key reads a
    // few granules with it and the whole range without.
    statements: (t) => [`ALTER TABLE ${t.spans} DROP INDEX IF EXISTS idx_span_id`],
  },
  {
    version: 11,
    name: 'key lifecycle: ids, scopes, expiry, revocation, last use',
    // Keys stored before this get an id derived from their hash (stable across reads and
    // merges: a default computed from the row), the scope they always had (read-write),
    // no expiry and no revocation. A revocation is a later version of the key's row
    // (ReplacingMergeTree keeps the last inserted). Last use lives in its own table, one
    // row per key kept by its latest time, written in batches (never per request).
    statements: (t) => [
      `ALTER TABLE ${t.apiKeys} ADD COLUMN IF NOT EXISTS id UUID DEFAULT toUUID(concat(substring(key_hash, 1, 8), '-', substring(key_hash, 9, 4), '-4', substring(key_hash, 14, 3), '-8', substring(key_hash, 18, 3), '-', substring(key_hash, 21, 12)))`,
      `ALTER TABLE ${t.apiKeys} ADD COLUMN IF NOT EXISTS scope LowCardinality(String) DEFAULT 'read-write'`,
      `ALTER TABLE ${t.apiKeys} ADD COLUMN IF NOT EXISTS expires_at Nullable(DateTime64(3, 'UTC'))`,
      `ALTER TABLE ${t.apiKeys} ADD COLUMN IF NOT EXISTS revoked_at Nullable(DateTime64(3, 'UTC'))`,
      `CREATE TABLE IF NOT EXISTS ${t.apiKeyUsage} (
        key_id UUID,
        last_used_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(last_used_at) ORDER BY key_id`,
    ],
  },
  {
    version: 12,
    name: 'spans: the small fields of a span in one column for lookups',
    // from-spans and trace reads return whole spans: with twenty columns, each granule a
    // lookup touches costs twenty seeks and decompressions, and the time was per column
    // read. span_json holds the span's small fields as one JSON array (the order of
    // SPAN_JSON_FIELDS in span-row.ts; attributes and events, which carry GenAI content,
    // stay in their columns only), written by the engine on insert (both insert paths
    // unchanged). Rows stored before would compute it on every read, so a background
    // mutation writes it into the existing parts (the migration does not wait for it).
    // Frozen here: a unit test checks it against span-row.ts; a change of the fields
    // needs a migration of its own.
    statements: (t) => [
      `ALTER TABLE ${t.spans} ADD COLUMN IF NOT EXISTS span_json String MATERIALIZED ${SPAN_JSON_EXPRESSION} CODEC(ZSTD(1))`,
      `ALTER TABLE ${t.spans} MATERIALIZE COLUMN span_json`,
    ],
  },
  {
    version: 13,
    name: 'datasets: feedback categories',
    // The categories a dataset's reviewers pick a row's feedback_category from, shared by
    // all of them (they were kept per browser). Datasets stored before get an empty list:
    // any category, as before.
    statements: (t) => [
      `ALTER TABLE ${t.datasets} ADD COLUMN IF NOT EXISTS feedback_categories Array(String) DEFAULT []`,
    ],
  },
]

/** Migration 12's span_json: the fields of SPAN_JSON_FIELDS (span-row.ts), in order. */
export const SPAN_JSON_EXPRESSION = `toJSONString(tuple(parent_span_id, trace_state, name, kind,
  toString(toUnixTimestamp64Nano(start_time)), toString(toUnixTimestamp64Nano(end_time)), toString(duration_ns),
  status_code, status_message, service_name, scope_name, scope_version, resource_attributes, links, flags))`

/** How the schema is laid out: one node (the default) or a cluster. */
export interface SchemaOptions {
  /**
   * The cluster of cluster mode. `runner` is then a cluster runner
   * (createClusterQueryRunner), which gives every statement its cluster form.
   */
  cluster?: string | undefined
}

/**
 * Creates the database and applies every migration not yet recorded, in order.
 *
 * In cluster mode the bookkeeping is cluster-wide: `schema_migrations` is itself a
 * replicated table behind a Distributed one (all on one shard), so every node and every
 * spansift process sees one record, and a migration is recorded only after each of its
 * statements finished ON CLUSTER on every host (a host that failed or timed out fails
 * the statement, and the migration is run again at the next start: its statements are
 * idempotent). Two processes migrating at once both run the idempotent statements and
 * record the same version, which the ReplacingMergeTree keeps once.
 */
export async function migrate(
  runner: QueryRunner,
  logger: Logger,
  options: SchemaOptions = {},
): Promise<number[]> {
  const t = tableNames(runner.database)
  await runner.command('migrate.database', `CREATE DATABASE IF NOT EXISTS ${runner.database}`)
  await assertSchemaLayout(runner, options)
  await runner.command(
    'migrate.table',
    `CREATE TABLE IF NOT EXISTS ${t.migrations} (
      version UInt32,
      name String,
      applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY version`,
  )
  const rows = await runner.select<{ version: number }>(
    'migrate.applied',
    `SELECT version FROM ${t.migrations} FINAL`,
  )
  const applied = new Set(rows.map((row) => Number(row.version)))
  const newlyApplied: number[] = []
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue
    for (const statement of migration.statements(t)) {
      await runner.command(`migrate.v${migration.version}`, statement)
    }
    await runner.insert('migrate.record', t.migrations, [
      { version: migration.version, name: migration.name },
    ])
    logger.info('migration applied', { version: migration.version, name: migration.name })
    newlyApplied.push(migration.version)
  }
  return newlyApplied
}

/**
 * Refuses a database laid out for the other mode: cluster mode over a single-node schema
 * (its tables hold data on one node, and creating Distributed tables under their names
 * is impossible), or one node over a cluster schema (its ALTERs would hit Distributed
 * tables). Moving data between the two is a manual operation.
 */
async function assertSchemaLayout(runner: QueryRunner, options: SchemaOptions): Promise<void> {
  const [row] = await runner.select<{ engine: string }>(
    'migrate.layout',
    'SELECT engine FROM system.tables WHERE database = {database:String} AND name = {table:String}',
    { database: runner.database, table: 'schema_migrations' },
  )
  if (!row) return
  const clustered = row.engine === 'Distributed'
  if (options.cluster && !clustered) {
    throw new Error(
      `SPANSIFT_CLICKHOUSE_CLUSTER is set, but database ${runner.database} holds a single-node schema (schema_migrations is ${row.engine}); cluster mode needs a database created in cluster mode`,
    )
  }
  if (!options.cluster && clustered) {
    throw new Error(
      `database ${runner.database} was created in cluster mode (schema_migrations is Distributed): set SPANSIFT_CLICKHOUSE_CLUSTER to its cluster`,
    )
  }
}

/**
 * Makes the spans TTL match the configured retention. The change is recorded without
 * rewriting existing parts (materialize_ttl_after_modify = 0): expired parts are
 * dropped whole as merges reach them. In cluster mode the TTL is the local tables'
 * (the cluster runner sends the ALTER to `spans_local` ON CLUSTER); it is read on the
 * node spansift talks to, and changed on all.
 */
export async function ensureSpanRetention(
  runner: QueryRunner,
  days: number,
  logger: Logger,
  options: SchemaOptions = {},
): Promise<void> {
  if (!Number.isInteger(days) || days < 1)
    throw new Error(`span retention must be a positive whole number of days, got ${days}`)
  const t = tableNames(runner.database)
  // Content events live as long as the spans they are attached to.
  const tables = [
    { name: 'spans', qualified: t.spans, time: 'start_time' },
    { name: 'span_content_events', qualified: t.spanContentEvents, time: 'time' },
  ]
  for (const table of tables) {
    const [row] = await runner.select<{ engine_full: string }>(
      'retention.read',
      'SELECT engine_full FROM system.tables WHERE database = {database:String} AND name = {table:String}',
      { database: runner.database, table: options.cluster ? localTableName(table.name) : table.name },
    )
    // A table a newer migration adds may be absent from an older schema: nothing to change.
    if (!row) continue
    const current = /toIntervalDay\((\d+)\)/.exec(row.engine_full)?.[1]
    if (current === String(days)) continue
    await runner.command(
      'retention.modify',
      `ALTER TABLE ${table.qualified} MODIFY TTL toDateTime(${table.time}) + INTERVAL ${days} DAY`,
      {},
      { materialize_ttl_after_modify: 0 },
    )
    logger.info('span retention changed', {
      table: table.name,
      from_days: current ? Number(current) : undefined,
      to_days: days,
    })
  }
}
