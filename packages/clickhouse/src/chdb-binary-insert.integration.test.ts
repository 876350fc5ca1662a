import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Session } from 'chdb'
import { createChdbBinaryInserter } from './chdb-binary-insert.ts'

test('staged batches of a dead process are removed at start, a batch file is removed once inserted', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spansift-staging-'))
  const staging = join(dataDir, 'spansift-insert-staging')
  const dead = join(staging, '99999999')
  mkdirSync(dead, { recursive: true })
  writeFileSync(join(dead, 'batch.rowbinary'), 'never acknowledged')
  const session = new Session(dataDir)
  const inserter = createChdbBinaryInserter({ dataDir, session })
  try {
    assert.equal(existsSync(dead), false)
    session.query('CREATE TABLE t (a UInt8, b String) ENGINE = MergeTree ORDER BY a')
    // RowBinary rows (1, "hi") and (2, "")
    await inserter.insert(
      't',
      [
        ['a', 'UInt8'],
        ['b', 'String'],
      ],
      [Buffer.from([1, 2, 104, 105]), Buffer.from([2, 0])],
      {
        optimize_on_insert: 0,
      },
    )
    assert.equal(session.query('SELECT a, b FROM t ORDER BY a', 'CSV'), '1,"hi"\n2,""\n')
    assert.deepEqual(readdirSync(join(staging, String(process.pid))), [])
  } finally {
    inserter.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
})

test('reads with parameters on another session keep finishing while an insert runs', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spansift-staging-'))
  const session = new Session(dataDir)
  const reader = new Session(dataDir)
  const inserter = createChdbBinaryInserter({ dataDir, session })
  try {
    // An insert that keeps the engine busy for about a second: 500 rows, 2 ms each.
    await session.queryAsync(
      'CREATE TABLE slow (a UInt8, pause UInt8 MATERIALIZED sleepEachRow(0.002)) ENGINE = MergeTree ORDER BY a',
    )
    let inserting = true
    const started = performance.now()
    const insert = inserter
      .insert('slow', [['a', 'UInt8']], [Buffer.alloc(500, 1)], { optimize_on_insert: 0 })
      .finally(() => {
        inserting = false
      })
    // The API's reads have parameters. chdb chains every parameterized query of the
    // process, so behind an insert with parameters at most one read would finish.
    let reads = 0
    while (inserting && reads < 10_000) {
      await reader.queryBindAsync('SELECT {n:UInt8} AS n', { n: 1 })
      if (inserting) reads++
    }
    await insert
    const took = performance.now() - started
    assert.ok(took >= 900, `the insert took ${took.toFixed(0)} ms, not the second it should`)
    assert.ok(reads >= 20, `only ${reads} reads finished during a ${took.toFixed(0)} ms insert`)
    assert.equal(session.query('SELECT count() FROM slow', 'CSV'), '500\n')
  } finally {
    inserter.close()
    reader.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
})
