import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type ClickHouseClient, createClient } from '@clickhouse/client'
import type { Dataset, DatasetItem, DatasetVersion } from '@spansift/core/datasets/dataset-model'
import { testSpan } from '@spansift/core/datasets/test-span'
import { silentLogger } from '@spansift/core/logger'
import type { Span } from '@spansift/core/span-model'
import { Session } from 'chdb'
import { createChdbConnection } from 'chdb/connection'
import { clusterStatements, createClusterQueryRunner, localTableName, SHARDING_KEYS } from './cluster-ddl.ts'
import { sessionSettings } from './connection.ts'
import { createDatasetItemsRepository } from './dataset-items-repository.ts'
import { createDatasetVersionsRepository } from './dataset-versions-repository.ts'
import { createDatasetsRepository } from './datasets-repository.ts'
import { ensureSpanRetention, migrate, migrations } from './migrations.ts'
import { createQueryRunner, type QueryRunner } from './query-runner.ts'
import { createSpansRepository } from './spans-repository.ts'
import { tableNames } from './tables.ts'

// Cluster mode on the embedded engine, as far as it goes. The engine (clickhouse-local)
// has no Keeper and no TCP server, so:
//
// - ON CLUSTER cannot run ("Replicated DDL queries are disabled"): the exact statements
//   are checked by the engine's parser (formatQuery), then run without the clause;
// - a Replicated table is created and checked (engine arguments, macros, keys) with the
//   engine's in-memory test keeper configured, but the engine never brings it out of
//   read-only (inserts would wait forever): the tables that hold this test's data use the
//   plain engine with the same arguments;
// - a cluster named in the engine's configuration, with one shard whose one replica is
//   this process (host and port equal to its own `tcp_port`, so it is "local" and queried
//   in-process), lets the Distributed tables run for real: every read and insert below goes
//   through them. prefer_localhost_replica is 1 here (spansift sets 0 on a real cluster),
//   because there is no TCP server to reach the replica through.
//
// Not proven here: several shards (queries merging across shards, shard skipping),
// replication, the ON CLUSTER queue, insert_distributed_sync against a remote shard.
const CLUSTER = 'spansift_test'
const PORT = 9000
const dir = mkdtempSync(join(tmpdir(), 'spansift-cluster-'))
const dataDir = join(dir, 'data')
const configFile = join(dir, 'cluster.xml')
writeFileSync(
  configFile,
  `<clickhouse>
  <tcp_port>${PORT}</tcp_port>
  <macros><shard>01</shard><replica>replica_1</replica></macros>
  <zookeeper><implementation>testkeeper</implementation></zookeeper>
  <remote_servers>
    <${CLUSTER}>
      <shard>
        <internal_replication>true</internal_replication>
        <replica><host>localhost</host><port>${PORT}</port></replica>
      </shard>
    </${CLUSTER}>
  </remote_servers>
</clickhouse>
`,
)

let session: Session
let raw: ClickHouseClient
let clusterClient: ClickHouseClient
/** The cluster runner over the embedded engine: DDL is generated for the cluster, then made runnable. */
let runner: QueryRunner
/** The single-node schema, in its own database, to compare against. */
let single: QueryRunner
/** Every command the cluster runner sent, as generated (before the ON CLUSTER clause is removed). */
const sent: string[] = []

/** What the embedded engine can run of a generated statement: no ON CLUSTER, and the plain engine. */
function runnable(sql: string): string {
  return sql
    .replace(/ ON CLUSTER '\w+'/g, '')
    .replace(
      /Replicated(\w*MergeTree)\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\w+', '\{replica\}'(?:, )?/g,
      '$1(',
    )
}

before(async () => {
  // The engine is one per process: the session opens it with the cluster configuration,
  // and the client's connection on the same path shares it.
  session = new Session(dataDir, { connectionArgs: [`--config-file=${configFile}`] })
  raw = createClient({
    connection: createChdbConnection({ path: dataDir }) as unknown as NonNullable<
      Parameters<typeof createClient>[0]
    >['connection'],
    clickhouse_settings: sessionSettings(undefined),
  })
  clusterClient = createClient({
    connection: createChdbConnection({ path: dataDir }) as unknown as NonNullable<
      Parameters<typeof createClient>[0]
    >['connection'],
    clickhouse_settings: { ...sessionSettings(CLUSTER), prefer_localhost_replica: 1 },
  })
  const embeddedCluster = {
    query: clusterClient.query.bind(clusterClient),
    insert: clusterClient.insert.bind(clusterClient),
    command: (params: Parameters<ClickHouseClient['command']>[0]) => {
      sent.push(params.query)
      return clusterClient.command({ ...params, query: runnable(params.query) })
    },
  } as unknown as ClickHouseClient
  runner = createClusterQueryRunner(
    createQueryRunner({ client: embeddedCluster, database: 'spansift', logger: silentLogger }),
    CLUSTER,
  )
  single = createQueryRunner({ client: raw, database: 'single_node', logger: silentLogger })
  await migrate(runner, silentLogger, { cluster: CLUSTER })
  await ensureSpanRetention(runner, 400, silentLogger, { cluster: CLUSTER })
  await migrate(single, silentLogger)
  await ensureSpanRetention(single, 400, silentLogger)
})

after(async () => {
  await clusterClient.close()
  await raw.close()
  session.close()
  rmSync(dir, { recursive: true, force: true })
})

const tableList = (Object.keys(tableNames('spansift')) as Array<keyof ReturnType<typeof tableNames>>).map(
  (key) => ({ key, name: tableNames('spansift')[key].split('.')[1]! }),
)

async function rows<Row>(sql: string, params: Record<string, unknown> = {}): Promise<Row[]> {
  const result = await raw.query({ query: sql, query_params: params, format: 'JSONEachRow' })
  return (await result.json()) as Row[]
}

test('the cluster is this process, one local shard', async () => {
  const clusters = await rows<{ shard_num: number; is_local: number }>(
    'SELECT shard_num, is_local FROM system.clusters WHERE cluster = {c:String}',
    { c: CLUSTER },
  )
  assert.deepEqual(clusters, [{ shard_num: 1, is_local: 1 }])
})

test('every generated statement, ON CLUSTER and Replicated engine included, is valid ClickHouse syntax', async () => {
  const runtime = [
    `DELETE FROM spansift.dataset_items WHERE dataset_id = {dataset_id:UUID}`,
    'ALTER TABLE spansift.spans MODIFY TTL toDateTime(start_time) + INTERVAL 7 DAY',
  ].flatMap((sql) => clusterStatements(sql, { cluster: CLUSTER, database: 'spansift' }))
  const statements = [...sent, ...runtime]
  assert.ok(statements.some((s) => s.includes("ON CLUSTER 'spansift_test'")))
  for (const statement of statements) {
    const [row] = await rows<{ f: string }>('SELECT formatQuery({q:String}) AS f', { q: statement })
    assert.ok(row?.f, statement)
    if (statement.includes('ON CLUSTER')) assert.match(row.f, /ON CLUSTER spansift_test/, statement)
  }
})

test('each table is a Distributed table over <table>_local with its sharding key', async () => {
  for (const { key, name } of tableList) {
    const [distributed] = await rows<{ engine_full: string }>(
      "SELECT engine_full FROM system.tables WHERE database = 'spansift' AND name = {n:String}",
      { n: name },
    )
    assert.equal(
      distributed?.engine_full,
      `Distributed('${CLUSTER}', 'spansift', '${localTableName(name)}', ${SHARDING_KEYS[key]})`,
      name,
    )
  }
})

test('each local table has exactly the single-node schema: columns, codecs, keys, partitioning, TTL, settings, indexes', async () => {
  const tableFacts = (db: string, name: string) =>
    rows<Record<string, string>>(
      `SELECT engine_full, sorting_key, primary_key, partition_key FROM system.tables
       WHERE database = {db:String} AND name = {n:String}`,
      { db, n: name },
    )
  const columns = (db: string, name: string) =>
    rows<Record<string, string>>(
      `SELECT name, type, position, default_kind, default_expression, compression_codec FROM system.columns
       WHERE database = {db:String} AND table = {n:String} ORDER BY position`,
      { db, n: name },
    )
  const indexes = (db: string, name: string) =>
    rows<Record<string, string>>(
      `SELECT name, type_full, expr, granularity FROM system.data_skipping_indices
       WHERE database = {db:String} AND table = {n:String} ORDER BY name`,
      { db, n: name },
    )
  for (const { name } of tableList) {
    const expected = await tableFacts('single_node', name)
    assert.equal(expected.length, 1, name)
    assert.deepEqual(await tableFacts('spansift', localTableName(name)), expected, name)
    const expectedColumns = await columns('single_node', name)
    assert.deepEqual(await columns('spansift', localTableName(name)), expectedColumns, name)
    // The Distributed table has the same columns (it keeps no indexes).
    assert.deepEqual(
      (await columns('spansift', name)).map(({ name, type }) => ({ name, type })),
      expectedColumns.map(({ name, type }) => ({ name, type })),
      name,
    )
    assert.deepEqual(
      await indexes('spansift', localTableName(name)),
      await indexes('single_node', name),
      name,
    )
  }
  // The comparison above covers the TTL and its settings; say so explicitly for spans.
  const [spans] = await tableFacts('spansift', 'spans_local')
  assert.match(
    spans!.engine_full!,
    /TTL toDateTime\(start_time\) \+ toIntervalDay\(400\) SETTINGS ttl_only_drop_parts = 1, index_granularity = 256/,
  )
})

test('the generated Replicated engines are accepted: arguments, macros and keys', async () => {
  // The statements a fresh cluster install runs, generated for a scratch database.
  const generated: string[] = []
  const recorder: QueryRunner = {
    database: 'replicated_check',
    select: async () => [],
    insert: async () => {},
    binaryInserts: false,
    insertRowBinary: async () => {},
    command: async (_tag, sql) => {
      generated.push(sql)
    },
  }
  await migrate(createClusterQueryRunner(recorder, CLUSTER), silentLogger, { cluster: CLUSTER })
  const locals = generated.filter((s) => /^CREATE TABLE IF NOT EXISTS replicated_check\.\w+_local /.test(s))
  assert.equal(locals.length, tableList.length)
  await raw.command({ query: 'CREATE DATABASE IF NOT EXISTS replicated_check' })
  try {
    for (const statement of locals) await raw.command({ query: statement.replace(/ ON CLUSTER '\w+'/, '') })
    const replicas = await rows<{ table: string; zookeeper_path: string; replica_name: string }>(
      "SELECT table, zookeeper_path, replica_name FROM system.replicas WHERE database = 'replicated_check' ORDER BY table",
    )
    assert.deepEqual(
      replicas,
      tableList
        .map(({ name }) => ({
          table: localTableName(name),
          zookeeper_path: `/clickhouse/tables/01/replicated_check/${name}`,
          replica_name: 'replica_1',
        }))
        .sort((a, b) => a.table.localeCompare(b.table)),
    )
    for (const { name } of tableList) {
      const [replicated] = await rows<Record<string, string>>(
        `SELECT engine, sorting_key, primary_key, partition_key,
           replaceRegexpOne(engine_full, '^\\\\w+\\\\([^)]*\\\\)', '') AS rest
         FROM system.tables WHERE database = 'replicated_check' AND name = {n:String}`,
        { n: localTableName(name) },
      )
      const [plain] = await rows<Record<string, string>>(
        `SELECT engine, sorting_key, primary_key, partition_key,
           replaceRegexpOne(engine_full, '^\\\\w+(\\\\([^)]*\\\\))?', '') AS rest
         FROM system.tables WHERE database = 'single_node' AND name = {n:String}`,
        { n: name },
      )
      assert.equal(replicated!.engine, `Replicated${plain!.engine}`, name)
      // Same ORDER BY, primary key, partitioning; the same TTL and settings (before the retention change).
      assert.deepEqual(
        {
          ...replicated,
          engine: plain!.engine,
          rest: replicated!.rest!.replace(/toIntervalDay\(30\)/, 'toIntervalDay(400)'),
        },
        plain,
        name,
      )
    }
    // Its version and is_deleted arguments are checked by the engine: a wrong type is refused.
    await assert.rejects(
      raw.command({
        query: `CREATE TABLE replicated_check.bad (id UUID, updated_at DateTime64(6), is_deleted String)
          ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/bad', '{replica}', updated_at, is_deleted) ORDER BY id`,
      }),
      /is_deleted/,
    )
  } finally {
    // A Replicated table without Keeper keeps the engine from closing: drop them now.
    await raw.command({ query: 'DROP DATABASE IF EXISTS replicated_check SYNC' })
  }
})

test('migrating again changes nothing; the record is read through the Distributed bookkeeping table', async () => {
  assert.deepEqual(await migrate(runner, silentLogger, { cluster: CLUSTER }), [])
  const recorded = await runner.select<{ version: number }>(
    'test',
    'SELECT version FROM spansift.schema_migrations FINAL ORDER BY version',
  )
  assert.deepEqual(
    recorded.map((r) => Number(r.version)),
    migrations.map((m) => m.version),
  )
})

test('a database of the other layout is refused', async () => {
  const clusterDatabaseAsSingle = createQueryRunner({
    client: raw,
    database: 'spansift',
    logger: silentLogger,
  })
  await assert.rejects(migrate(clusterDatabaseAsSingle, silentLogger), /set SPANSIFT_CLICKHOUSE_CLUSTER/)
  const singleAsCluster = createClusterQueryRunner(
    createQueryRunner({ client: raw, database: 'single_node', logger: silentLogger }),
    CLUSTER,
  )
  await assert.rejects(
    migrate(
      {
        ...singleAsCluster,
        // The CREATE DATABASE ON CLUSTER cannot run here; the check after it is the point.
        command: async () => {},
      },
      silentLogger,
      { cluster: CLUSTER },
    ),
    /holds a single-node schema/,
  )
})

const appId = '3c90c3cc-0d44-4b50-8888-8dd25736052a'
const now = BigInt(Date.now()) * 1_000_000n
const range = { fromUnixNano: now - 86_400_000_000_000n, toUnixNano: now + 86_400_000_000_000n }

/** A recent span (inside the retention) of the test application. */
function span(overrides: Partial<Span>): Span {
  return testSpan({
    applicationId: appId,
    name: 'chat',
    startTimeUnixNano: now - 3_600_000_000_000n,
    endTimeUnixNano: now - 3_599_000_000_000n,
    statusCode: 0,
    resourceAttributes: { 'service.name': 'support-bot' },
    attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 42 },
    ...overrides,
  })
}

test('spans through the Distributed table: stored once however often written, found by trace and by refs', async () => {
  const spans = createSpansRepository(runner)
  const a = span({})
  const b = span({ spanId: 'b7ad6b7169203332', parentSpanId: a.spanId })
  await spans.insert([a, b])
  await spans.insert([a])
  assert.deepEqual(await spans.findTrace(appId, a.traceId, range), [a, b])
  const found = await spans.findByRefs(appId, [{ traceId: a.traceId, spanId: a.spanId }], range)
  assert.deepEqual(found, [a])
  // The rows are in the local table: the Distributed insert was synchronous.
  const [local] = await rows<{ n: string }>('SELECT count() AS n FROM spansift.spans_local')
  assert.equal(Number(local!.n), 3)
})

test("a dataset's life through the Distributed tables, its delete routed to the local table ON CLUSTER", async () => {
  const datasets = createDatasetsRepository(runner)
  const versions = createDatasetVersionsRepository(runner)
  const items = createDatasetItemsRepository(runner)
  const datasetId = '11111111-2222-4333-8444-555555555555'
  const dataset: Dataset = {
    id: datasetId,
    groupId: 42,
    applicationId: appId,
    name: 'eval',
    kind: 'eval',
    excludeDatasetId: null,
    feedbackCategories: ['wrong', 'fine'],
    columns: [{ name: 'question', bucket: 'inputs' }],
    createdAt: '2026-11-22T10:00:00.000Z',
  }
  await datasets.save(dataset, '2026-11-22T10:00:00.000001Z')
  await datasets.save({ ...dataset, name: 'eval v2' }, '2026-11-22T10:00:00.000002Z')
  assert.equal((await datasets.get(datasetId))?.name, 'eval v2')
  assert.deepEqual((await datasets.get(datasetId))?.feedbackCategories, ['wrong', 'fine'])
  const draft: DatasetVersion = {
    datasetId,
    versionId: 1001,
    number: 1,
    status: 'draft',
    createdAt: '2026-11-22T10:00:00.000Z',
    publishedAt: null,
  }
  await versions.save(draft, '2026-11-22T10:00:00.000003Z')
  await versions.save(
    { ...draft, status: 'published', publishedAt: '2026-11-22T10:01:00.000Z' },
    '2026-11-22T10:01:00.000001Z',
  )
  await versions.save({ ...draft, versionId: 1002, number: 2 }, '2026-11-22T10:01:00.000002Z')
  assert.deepEqual(
    (await versions.list(datasetId)).map((v) => [v.number, v.status]),
    [
      [1, 'published'],
      [2, 'draft'],
    ],
  )
  const item = (n: number): DatasetItem => ({
    datasetId,
    versionId: 1001,
    itemId: `00000000-0000-4000-8000-00000000000${n}`,
    source: {
      applicationId: appId,
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: `b7ad6b716920333${n}`,
      spanStartUnixNano: now,
      kind: 'api',
      ruleId: null,
    },
    inputs: { question: `q${n}` },
    expected_outputs: {},
    metadata: {},
    extras: {},
    inputsHash: `hash${n}`,
    redactedFields: [],
    annotation: null,
    annotationStatus: 'empty',
    feedbackCategory: null,
    expectedOutput: null,
    priority: null,
    labels: [],
    createdAt: `2026-11-22T10:00:0${n}.000Z`,
    updatedAt: `2026-11-22T10:00:0${n}.000000Z`,
  })
  await items.write([item(1), item(2), item(3)])
  await items.write([{ ...item(2), annotation: 'checked', updatedAt: '2026-11-22T10:05:00.000000Z' }])
  await items.write([{ ...item(3), updatedAt: '2026-11-22T10:06:00.000000Z' }], { deleted: true })
  assert.equal(await items.count(datasetId, 1001), 2)
  assert.equal((await items.get(datasetId, 1001, item(2).itemId))?.annotation, 'checked')
  await items.copyVersion(datasetId, 1001, 1002, '2026-11-22T10:07:00.000000Z')
  assert.deepEqual(
    await items.countByVersion(datasetId),
    new Map([
      [1001, 2],
      [1002, 2],
    ]),
  )
  const overlapping = await items.findOverlapping(datasetId, undefined, [], ['hash1'])
  assert.equal(overlapping.length, 2)
  assert.deepEqual(
    (await items.list(datasetId, 1002, {}, undefined, 10)).map((i) => i.itemId),
    [item(1).itemId, item(2).itemId],
  )
  await items.deleteDataset(datasetId)
  assert.ok(
    sent.includes(
      "DELETE FROM spansift.dataset_items_local ON CLUSTER 'spansift_test' WHERE dataset_id = {dataset_id:UUID}",
    ),
  )
  assert.deepEqual(await items.countByVersion(datasetId), new Map())
})

test('the retention changes the local spans tables, on the cluster', async () => {
  await ensureSpanRetention(runner, 7, silentLogger, { cluster: CLUSTER })
  assert.ok(
    sent.some((s) => s.startsWith("ALTER TABLE spansift.spans_local ON CLUSTER 'spansift_test' MODIFY TTL")),
  )
  const [local] = await rows<{ engine_full: string }>(
    "SELECT engine_full FROM system.tables WHERE database = 'spansift' AND name = 'spans_local'",
  )
  assert.match(local!.engine_full, /toIntervalDay\(7\)/)
})
