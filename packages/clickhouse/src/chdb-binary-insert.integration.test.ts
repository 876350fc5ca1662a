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
