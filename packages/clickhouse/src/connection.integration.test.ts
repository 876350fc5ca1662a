import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { openClickHouse } from './connection.ts'

test('the embedded engine runs merges at the lowest CPU priority, whichever session asks', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spansift-connection-'))
  const connection = await openClickHouse({ dataDir })
  try {
    // The engine takes its arguments from the first session on the data directory: were
    // the read session opened first, merges would compete with inserts and reads at full
    // priority (docs/architecture.md, "Embedded insert path").
    const result = await connection.client.query({
      query: "SELECT value FROM system.server_settings WHERE name = 'os_threads_nice_value_merge_mutate'",
      format: 'JSONEachRow',
    })
    assert.deepEqual(await result.json(), [{ value: '19' }])
  } finally {
    await connection.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
})
