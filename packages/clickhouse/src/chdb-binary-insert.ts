import { randomUUID } from 'node:crypto'
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Session } from 'chdb'

/** A RowBinary batch: the columns it carries, in order, with their ClickHouse types. */
export type RowBinaryColumns = ReadonlyArray<readonly [name: string, type: string]>

/** Inserts RowBinary batches into the embedded engine. */
export interface ChdbBinaryInserter {
  /**
   * Inserts `body` (RowBinary rows of `columns`, in pieces) into `table`, with `settings` in the
   * INSERT's SETTINGS clause. Resolves once the rows are written to a part.
   */
  insert(
    table: string,
    columns: RowBinaryColumns,
    body: readonly Uint8Array[],
    settings: Record<string, string | number>,
  ): Promise<void>
  close(): void
}

/** The directory, inside the data directory, where batches wait for the engine to read them. */
const STAGING_DIR = 'spansift-insert-staging'

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.]*$/

/**
 * Inserts through a chdb session of its own, on the same data directory as the session
 * that serves reads: one session runs one query at a time, so a read would otherwise
 * wait behind a whole batch insert (up to ~2 s for 50k spans).
 *
 * chdb takes inline INSERT data as text only, so a binary batch goes through a file:
 * written under the data directory, read by `INSERT … SELECT * FROM file(path,
 * 'RowBinary', structure)`, removed afterwards. The statement has no bound parameters,
 * so reads on the other session run beside it (see `insert`). Measured on 50k GenAI spans (figures in
 * docs/architecture.md, load-tests/store-insert-benchmark.ts): the engine reads RowBinary
 * about twice as fast as it parses the same rows as JSONEachRow, and JSON is also twice
 * the bytes to produce.
 */
export function createChdbBinaryInserter(options: { dataDir: string; session: Session }): ChdbBinaryInserter {
  const root = join(options.dataDir, STAGING_DIR)
  removeDeadProcessesBatches(root)
  const staging = join(root, String(process.pid))
  mkdirSync(staging, { recursive: true })
  return {
    async insert(table, columns, body, settings) {
      if (body.every((chunk) => chunk.byteLength === 0)) return
      if (!IDENTIFIER.test(table) || !columns.every(([name]) => IDENTIFIER.test(name))) {
        throw new Error(`invalid table or column name in an insert into ${table}`)
      }
      const file = join(staging, `${randomUUID()}.rowbinary`)
      await writeFile(file, body)
      try {
        const names = columns.map(([name]) => name).join(', ')
        const structure = columns.map(([name, type]) => `${name} ${type}`).join(', ')
        const settingNames = Object.keys(settings)
        if (!settingNames.every((name) => IDENTIFIER.test(name))) {
          throw new Error(`invalid setting name in an insert into ${table}`)
        }
        // Literals, not bound parameters: chdb runs every parameterized query of the
        // process, on any session, through one chain (its parameter state is not
        // per-session), so an insert with parameters held every API read (they have
        // parameters) for its whole length. Names are checked above; the settings'
        // values, the path and the structure are quoted.
        const clause = settingNames.map((name) => `${name} = ${literal(settings[name] as string | number)}`)
        await options.session.queryAsync(
          `INSERT INTO ${table} (${names}) SETTINGS ${clause.join(', ')}
           SELECT * FROM file(${literal(file)}, 'RowBinary', ${literal(structure)})`,
        )
      } finally {
        await rm(file, { force: true })
      }
    },
    close: () => options.session.close(),
  }
}

/**
 * Batches of a process that died mid-insert (one directory per process id) were never
 * acknowledged, so they are dropped; another live process's are left alone.
 */
function removeDeadProcessesBatches(root: string): void {
  let entries: string[]
  try {
    entries = readdirSync(root)
  } catch {
    return
  }
  for (const entry of entries) {
    const pid = Number(entry)
    if (pid === process.pid || (Number.isInteger(pid) && isAlive(pid))) continue
    rmSync(join(root, entry), { recursive: true, force: true })
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function literal(value: string | number): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`setting value ${value} is not a finite number`)
    return String(value)
  }
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}
