import assert from 'node:assert/strict'
import { test } from 'node:test'
import { silentLogger } from '@spansift/core/logger'
import {
  ClusterDdlError,
  clusterStatements,
  createClusterQueryRunner,
  ON_CLUSTER_SETTINGS,
  SHARDING_KEYS,
} from './cluster-ddl.ts'
import { migrate, migrations } from './migrations.ts'
import type { QueryParams, QueryRunner } from './query-runner.ts'
import { tableNames } from './tables.ts'

const target = { cluster: 'prod_cluster', database: 'spansift' }
const t = tableNames('spansift')

test('a table becomes a replicated local table and a Distributed table under its name', () => {
  const [local, distributed] = clusterStatements(
    `CREATE TABLE IF NOT EXISTS spansift.datasets (
        id UUID,
        name String DEFAULT 'a (b), c',
        updated_at DateTime64(6, 'UTC'),
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(updated_at, is_deleted) ORDER BY id`,
    target,
  )
  assert.equal(
    local,
    `CREATE TABLE IF NOT EXISTS spansift.datasets_local ON CLUSTER 'prod_cluster' (
        id UUID,
        name String DEFAULT 'a (b), c',
        updated_at DateTime64(6, 'UTC'),
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/datasets', '{replica}', updated_at, is_deleted) ORDER BY id`,
  )
  assert.equal(
    distributed,
    "CREATE TABLE IF NOT EXISTS spansift.datasets ON CLUSTER 'prod_cluster' AS spansift.datasets_local ENGINE = Distributed('prod_cluster', 'spansift', 'datasets_local', cityHash64(id))",
  )
})

test('an engine without arguments gets only the replication path and replica', () => {
  const [local] = clusterStatements(
    'CREATE TABLE IF NOT EXISTS spansift.applications (id UUID) ENGINE = ReplacingMergeTree ORDER BY id',
    target,
  )
  assert.equal(
    local,
    "CREATE TABLE IF NOT EXISTS spansift.applications_local ON CLUSTER 'prod_cluster' (id UUID) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/applications', '{replica}') ORDER BY id",
  )
})

test('the spans table keeps partitioning, TTL, settings and indexes verbatim, sharded by trace', () => {
  const spans = migrations.find((m) => m.version === 2)!.statements(t)[0]!
  const [local, distributed] = clusterStatements(spans, target)
  assert.match(
    local!,
    /ENGINE = ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/spans', '\{replica\}', ingested_at\)/,
  )
  const tail = (sql: string) => sql.slice(sql.indexOf('PARTITION BY'))
  assert.equal(tail(local!), tail(spans))
  const columns = (sql: string) => sql.slice(sql.indexOf('(') + 1, sql.indexOf(') ENGINE'))
  assert.equal(columns(local!), columns(spans))
  assert.match(columns(local!), /INDEX idx_attribute_keys mapKeys\(attributes\) TYPE bloom_filter\(0\.01\)/)
  assert.match(
    distributed!,
    /Distributed\('prod_cluster', 'spansift', 'spans_local', cityHash64\(trace_id\)\)$/,
  )
})

test('sharding keys: spans by trace, a dataset with its versions and items, bookkeeping on one shard', () => {
  assert.equal(SHARDING_KEYS.spans, 'cityHash64(trace_id)')
  assert.equal(SHARDING_KEYS.datasets, 'cityHash64(id)')
  assert.equal(SHARDING_KEYS.datasetVersions, 'cityHash64(dataset_id)')
  assert.equal(SHARDING_KEYS.datasetItems, 'cityHash64(dataset_id)')
  for (const key of ['migrations', 'applications', 'apiKeys', 'ruleBackfills'] as const) {
    assert.equal(SHARDING_KEYS[key], '0', key)
  }
  assert.deepEqual(Object.keys(SHARDING_KEYS).sort(), Object.keys(t).sort())
})

test('every migration has a cluster form; every created table is local plus Distributed', () => {
  for (const migration of migrations) {
    for (const statement of migration.statements(t)) {
      const statements = clusterStatements(statement, target)
      assert.ok(statements.length >= 1, statement)
      for (const s of statements) assert.match(s, / ON CLUSTER 'prod_cluster' /, s)
      if (/^\s*CREATE TABLE/.test(statement)) {
        assert.equal(statements.length, 2)
        assert.match(
          statements[0]!,
          /_local ON CLUSTER .* ENGINE = Replicated\w+MergeTree\('\/clickhouse\/tables\//s,
        )
        assert.match(statements[1]!, /ENGINE = Distributed\(/)
      }
    }
  }
})

test('adding a column changes the local tables, then the Distributed table', () => {
  assert.deepEqual(
    clusterStatements(
      `ALTER TABLE ${t.datasetItems} ADD COLUMN IF NOT EXISTS redacted_fields Array(String) DEFAULT []`,
      target,
    ),
    [
      "ALTER TABLE spansift.dataset_items_local ON CLUSTER 'prod_cluster' ADD COLUMN IF NOT EXISTS redacted_fields Array(String) DEFAULT []",
      "ALTER TABLE spansift.dataset_items ON CLUSTER 'prod_cluster' ADD COLUMN IF NOT EXISTS redacted_fields Array(String) DEFAULT []",
    ],
  )
  // Commas inside types and defaults do not split operations.
  assert.equal(
    clusterStatements(
      `ALTER TABLE ${t.spans} ADD COLUMN a Map(String, UInt8), ADD COLUMN b Array(UInt8) DEFAULT [1, 2]`,
      target,
    ).length,
    2,
  )
})

test('dropping a column changes the Distributed table first', () => {
  assert.deepEqual(clusterStatements(`ALTER TABLE ${t.spans} DROP COLUMN IF EXISTS x`, target), [
    "ALTER TABLE spansift.spans ON CLUSTER 'prod_cluster' DROP COLUMN IF EXISTS x",
    "ALTER TABLE spansift.spans_local ON CLUSTER 'prod_cluster' DROP COLUMN IF EXISTS x",
  ])
})

test('mutations and TTL changes go to the local tables only', () => {
  assert.deepEqual(
    clusterStatements(`ALTER TABLE ${t.spans} MODIFY TTL toDateTime(start_time) + INTERVAL 7 DAY`, target),
    [
      "ALTER TABLE spansift.spans_local ON CLUSTER 'prod_cluster' MODIFY TTL toDateTime(start_time) + INTERVAL 7 DAY",
    ],
  )
  assert.deepEqual(
    clusterStatements(`DELETE FROM ${t.datasetItems} WHERE dataset_id = {dataset_id:UUID}`, target),
    [
      "DELETE FROM spansift.dataset_items_local ON CLUSTER 'prod_cluster' WHERE dataset_id = {dataset_id:UUID}",
    ],
  )
  assert.deepEqual(clusterStatements(`ALTER TABLE ${t.spans} MATERIALIZE COLUMN span_json`, target), [
    "ALTER TABLE spansift.spans_local ON CLUSTER 'prod_cluster' MATERIALIZE COLUMN span_json",
  ])
  assert.deepEqual(clusterStatements(`OPTIMIZE TABLE ${t.spans} FINAL`, target), [
    "OPTIMIZE TABLE spansift.spans_local ON CLUSTER 'prod_cluster' FINAL",
  ])
  assert.deepEqual(clusterStatements('CREATE DATABASE IF NOT EXISTS spansift', target), [
    "CREATE DATABASE IF NOT EXISTS spansift ON CLUSTER 'prod_cluster'",
  ])
})

test('queries and inserts are unchanged: they go through the Distributed tables', () => {
  for (const sql of [
    `SELECT count() FROM ${t.datasetItems} FINAL WHERE dataset_id = {d:UUID}`,
    `  INSERT INTO ${t.datasetItems} (a) SELECT a FROM ${t.datasetItems} FINAL`,
    `EXPLAIN indexes = 1 SELECT 1 FROM ${t.spans}`,
  ]) {
    assert.deepEqual(clusterStatements(sql, target), [sql])
  }
})

test('a statement without a safe cluster form is refused, not run half right', () => {
  const refused = [
    `DROP TABLE ${t.spans}`,
    `CREATE TABLE IF NOT EXISTS spansift.unknown_table (a UInt8) ENGINE = MergeTree ORDER BY a`,
    `CREATE TABLE IF NOT EXISTS ${t.spans} (a UInt8) ENGINE = Memory`,
    `CREATE TABLE IF NOT EXISTS ${t.spans} (a UInt8) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY a`,
    `CREATE TABLE ${t.spans} (a UInt8) ENGINE = MergeTree ORDER BY a`,
    `CREATE TABLE IF NOT EXISTS other.spans (a UInt8) ENGINE = MergeTree ORDER BY a`,
    `ALTER TABLE ${t.spans} ADD COLUMN a UInt8, MODIFY TTL toDateTime(start_time) + INTERVAL 1 DAY`,
    `ALTER TABLE ${t.spans} ON CLUSTER 'x' ADD COLUMN a UInt8`,
    `DELETE FROM spansift.nope WHERE 1`,
    'CREATE VIEW spansift.v AS SELECT 1',
  ]
  for (const sql of refused) assert.throws(() => clusterStatements(sql, target), ClusterDdlError, sql)
})

/** A runner that records what it is asked to run, answering selects with `rows`. */
function recordingRunner(rows: Record<string, unknown[]> = {}) {
  const calls: Array<{ sql: string; params?: QueryParams; settings?: Record<string, string | number> }> = []
  const runner: QueryRunner = {
    database: 'spansift',
    select: async <Row>(tag: string) => (rows[tag] ?? []) as Row[],
    command: async (_tag, sql, params, settings) => {
      calls.push({ sql, ...(params ? { params } : {}), ...(settings ? { settings } : {}) })
    },
    insert: async (_tag, table) => {
      calls.push({ sql: `INSERT INTO ${table}` })
    },
    binaryInserts: false,
    insertRowBinary: async () => {},
  }
  return { runner, calls }
}

test('the cluster runner sends DDL and mutations ON CLUSTER with the DDL settings, and passes queries through', async () => {
  const { runner, calls } = recordingRunner()
  const cluster = createClusterQueryRunner(runner, 'prod_cluster')
  await cluster.command('delete', `DELETE FROM ${t.datasetItems} WHERE dataset_id = {dataset_id:UUID}`, {
    dataset_id: 'x',
  })
  await cluster.command(
    'ttl',
    `ALTER TABLE ${t.spans} MODIFY TTL toDateTime(start_time) + INTERVAL 7 DAY`,
    {},
    {
      materialize_ttl_after_modify: 0,
    },
  )
  await cluster.command('copy', `INSERT INTO ${t.datasetItems} SELECT * FROM ${t.datasetItems}`, { a: 1 })
  await cluster.insert('insert', t.spans, [{}])
  assert.deepEqual(calls, [
    {
      sql: "DELETE FROM spansift.dataset_items_local ON CLUSTER 'prod_cluster' WHERE dataset_id = {dataset_id:UUID}",
      params: { dataset_id: 'x' },
      settings: ON_CLUSTER_SETTINGS,
    },
    {
      sql: "ALTER TABLE spansift.spans_local ON CLUSTER 'prod_cluster' MODIFY TTL toDateTime(start_time) + INTERVAL 7 DAY",
      params: {},
      settings: { materialize_ttl_after_modify: 0, ...ON_CLUSTER_SETTINGS },
    },
    { sql: `INSERT INTO ${t.datasetItems} SELECT * FROM ${t.datasetItems}`, params: { a: 1 } },
    { sql: 'INSERT INTO spansift.spans' },
  ])
})

test('cluster migrations create the bookkeeping table cluster-wide before anything else', async () => {
  const { runner, calls } = recordingRunner()
  await migrate(createClusterQueryRunner(runner, 'prod_cluster'), silentLogger, { cluster: 'prod_cluster' })
  assert.equal(calls[0]!.sql, "CREATE DATABASE IF NOT EXISTS spansift ON CLUSTER 'prod_cluster'")
  assert.match(calls[1]!.sql, /^CREATE TABLE IF NOT EXISTS spansift\.schema_migrations_local ON CLUSTER/)
  assert.match(
    calls[2]!.sql,
    /spansift\.schema_migrations ON CLUSTER .* Distributed\('prod_cluster', 'spansift', 'schema_migrations_local', 0\)$/,
  )
  // Each migration is recorded (through the Distributed table) after its statements.
  const records = calls.flatMap((c, i) => (c.sql === 'INSERT INTO spansift.schema_migrations' ? [i] : []))
  assert.equal(records.length, migrations.length)
  assert.equal(records.at(-1), calls.length - 1)
})

test('a database of the other layout is refused with a message naming the variable', async () => {
  const single = recordingRunner({ 'migrate.layout': [{ engine: 'ReplacingMergeTree' }] })
  await assert.rejects(
    migrate(createClusterQueryRunner(single.runner, 'c'), silentLogger, { cluster: 'c' }),
    /SPANSIFT_CLICKHOUSE_CLUSTER is set, but database spansift holds a single-node schema/,
  )
  const clustered = recordingRunner({ 'migrate.layout': [{ engine: 'Distributed' }] })
  await assert.rejects(
    migrate(clustered.runner, silentLogger),
    /created in cluster mode .*set SPANSIFT_CLICKHOUSE_CLUSTER/,
  )
})
