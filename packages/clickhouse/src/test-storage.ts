import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@spansift/core/logger'
import { openStorage, type Storage } from './storage.ts'

/**
 * Storage for an integration test: the embedded engine in a fresh directory (or the
 * server SPANSIFT_CLICKHOUSE_URL names), migrated. The span retention is long enough to
 * keep spans of earlier months, since rows past the TTL are dropped on insert. `close`
 * also removes the directory.
 */
export async function openTestStorage(name: string): Promise<Storage> {
  const dataDir = mkdtempSync(join(tmpdir(), `spansift-${name}-`))
  const storage = await openStorage({
    url: process.env.SPANSIFT_CLICKHOUSE_URL,
    dataDir,
    logger: silentLogger,
    migrate: true,
    spanRetentionDays: 400,
  })
  return {
    ...storage,
    async close() {
      await storage.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
