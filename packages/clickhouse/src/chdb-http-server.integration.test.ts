import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { text } from 'node:stream/consumers'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type ClickHouseClient, ClickHouseError, createClient } from '@clickhouse/client'
import { testSpan } from '@spansift/core/datasets/test-span'
import { silentLogger } from '@spansift/core/logger'
import type { Span } from '@spansift/core/span-model'
import { StorageUnavailableError } from '@spansift/core/storage-errors'
import { isNetworkError } from './query-runner.ts'
import { openStorage, type Storage } from './storage.ts'

// The server runs in a child process, as in the multi-process tests: chdb binds one data
// directory per process, and this process talks HTTP only.
const MAIN = fileURLToPath(new URL('./chdb-http-server-main.ts', import.meta.url))
const MAX_BODY_BYTES = 4 * 1024 * 1024

interface RunningServer {
  child: ChildProcess
  /** `http://127.0.0.1:PORT` */
  url: string
  port: number
}

/** Starts the server and resolves on its readiness line (`listening http://host:port`). */
async function startServer(dataDir: string, port: number): Promise<RunningServer> {
  const child = spawn(
    process.execPath,
    [MAIN, '--data-dir', dataDir, '--port', String(port), '--max-body-bytes', String(MAX_BODY_BYTES)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const lines = createInterface({ input: child.stdout! })
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the server exited (${code}) before it was ready: ${stderr}`)
  })
  const ready = (async () => {
    for await (const line of lines) {
      const match = /^listening (http:\/\/\S+:(\d+))$/.exec(line)
      if (match) return { child, url: match[1]!, port: Number(match[2]) }
    }
    throw new Error(`the server closed stdout before it was ready: ${stderr}`)
  })()
  return Promise.race([ready, exited])
}

async function stopServer(running: RunningServer, signal: NodeJS.Signals): Promise<number | null> {
  if (running.child.exitCode !== null) return running.child.exitCode
  const exited = once(running.child, 'exit')
  running.child.kill(signal)
  const [code] = await exited
  return code as number | null
}

const serverDir = mkdtempSync(join(tmpdir(), 'spansift-chdb-http-'))
const unusedEmbeddedDir = mkdtempSync(join(tmpdir(), 'spansift-chdb-http-client-'))
let server: RunningServer
let storage: Storage
let client: ClickHouseClient
const appId = '3c90c3cc-0d44-4b50-8888-8dd25736052a'
const now = BigInt(Date.now()) * 1_000_000n
const wideRange = { fromUnixNano: now - 86_400_000_000_000n, toUnixNano: now + 86_400_000_000_000n }

/** A recent span (inside the retention) of the test application. */
function span(overrides: Partial<Span>): Span {
  return testSpan({
    applicationId: appId,

    startTimeUnixNano: now - 3_600_000_000_000n,
    endTimeUnixNano: now - 3_599_000_000_000n,
    statusCode: 0,
    resourceAttributes: { 'service.name': 'support-bot' },
    attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 42, flag: true },
    ...overrides,
  })
}

before(async () => {
  server = await startServer(serverDir, 0)
  storage = await openStorage({
    url: `${server.url}/spansift`,
    dataDir: unusedEmbeddedDir,
    logger: silentLogger,
    migrate: true,
    spanRetentionDays: 400,
  })
  // Compression both ways, which the default client does not ask for.
  client = createClient({ url: server.url, compression: { request: true, response: true } })
  await client.command({
    query: 'CREATE TABLE IF NOT EXISTS default.t (id UInt32, name String) ENGINE = MergeTree ORDER BY id',
  })
})

after(async () => {
  await client?.close()
  await storage?.close()
  if (server) assert.equal(await stopServer(server, 'SIGTERM'), 0, 'SIGTERM stops the server cleanly')
  rmSync(serverDir, { recursive: true, force: true })
  rmSync(unusedEmbeddedDir, { recursive: true, force: true })
})

test('storage migrates, writes spans and reads them back through the server', async () => {
  assert.equal(storage.embedded, false)
  const original = span({})
  await storage.spans.insert([original])
  const [found] = await storage.spans.findTrace(appId, original.traceId, wideRange)
  assert.deepEqual(found, original)
  assert.equal(await storage.ping(), true)
})

test('query parameters arrive byte for byte, and settings apply to their query only', async () => {
  const tricky = "it's a\ttab, a\nnewline and a \\ backslash"
  const result = await client.query({
    query: `SELECT {s:String} AS s, {list:Array(String)} AS list, {missing:Nullable(String)} AS missing,
      {big:UInt64} AS big, getSetting('log_comment') AS comment`,
    query_params: { s: tricky, list: ["x'y", 'z'], missing: null, big: 18446744073709551615n },
    format: 'JSONEachRow',
    clickhouse_settings: { log_comment: 'tagged', output_format_json_quote_64bit_integers: 1 },
  })
  assert.deepEqual(await result.json(), [
    { s: tricky, list: ["x'y", 'z'], missing: null, big: '18446744073709551615', comment: 'tagged' },
  ])
  const next = await client.query({
    query: "SELECT getSetting('log_comment') AS comment",
    format: 'JSONEachRow',
  })
  assert.deepEqual(await next.json(), [{ comment: '' }])
})

test('concurrent queries, with and without parameters, each get their own answer', async () => {
  const answers = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const result = await client.query({
        query: i % 2 ? 'SELECT {n:UInt32} * 2 AS v' : `SELECT ${i} * 2 AS v`,
        query_params: i % 2 ? { n: i } : {},
        format: 'JSONEachRow',
      })
      return ((await result.json()) as { v: number }[])[0]!.v
    }),
  )
  assert.deepEqual(
    answers,
    Array.from({ length: 12 }, (_, i) => i * 2),
  )
})

test('errors come back as the server sends them', async () => {
  await assert.rejects(client.query({ query: 'SELECT * FROM default.no_such_table' }), (error: unknown) => {
    assert.ok(error instanceof ClickHouseError)
    assert.equal(error.code, '60')
    assert.equal(error.type, 'UNKNOWN_TABLE')
    return true
  })
  await assert.rejects(client.command({ query: 'SELEC 1' }), { code: '62', type: 'SYNTAX_ERROR' })
  await assert.rejects(
    client.query({ query: 'SELECT 1', clickhouse_settings: { no_such_setting: 1 } as never }),
    { code: '115', type: 'UNKNOWN_SETTING' },
  )
  const raw = await fetch(`${server.url}/?query=${encodeURIComponent('SELECT * FROM default.no_such_table')}`)
  assert.equal(raw.status, 404)
  assert.equal(raw.headers.get('x-clickhouse-exception-code'), '60')
  assert.match(await raw.text(), /^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)/)
})

test('insert, command and exec report like the server, and exec streams the result', async () => {
  const inserted = await client.insert({
    table: 'default.t',
    values: [
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ],
    format: 'JSONEachRow',
    query_id: 'insert-1',
  })
  assert.equal(inserted.query_id, 'insert-1')
  assert.equal(inserted.summary?.written_rows, '2')

  const command = await client.command({ query: 'OPTIMIZE TABLE default.t FINAL' })
  assert.ok(command.summary)

  const exec = await client.exec({ query: 'SELECT id, name FROM default.t ORDER BY id FORMAT CSV' })
  assert.equal(exec.response_headers['x-clickhouse-format'], 'CSV')
  assert.equal(exec.response_headers['content-encoding'], 'gzip')
  assert.equal(await text(exec.stream), '1,"a"\n2,"b"\n')

  const parquet = await client.exec({ query: 'SELECT id FROM default.t FORMAT Parquet' })
  const bytes = Buffer.from(await new Response(parquet.stream as unknown as ReadableStream).arrayBuffer())
  assert.equal(bytes.subarray(0, 4).toString(), 'PAR1')

  const tsv = await client.query({ query: 'SELECT count() FROM default.t', format: 'TabSeparated' })
  assert.equal(await tsv.text(), '2\n')
})

test('ping answers, and a body past the limit gets 413', async () => {
  assert.deepEqual(await client.ping(), { success: true })
  // Declared too large: refused on the headers alone, before a byte of the body is read.
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${server.url}/`, {
      method: 'POST',
      headers: { 'Content-Length': MAX_BODY_BYTES + 1 },
    })
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
      req.destroy()
    })
    req.on('error', reject)
    req.flushHeaders()
  })
  assert.equal(status, 413)
})

test('a server that goes away fails queries with a network error, and comes back with its data', async () => {
  const kept = span({ traceId: '55555555555555555555555555555555' })
  await storage.spans.insert([kept])
  assert.equal(await stopServer(server, 'SIGKILL'), null)

  await assert.rejects(storage.spans.findTrace(appId, kept.traceId, wideRange), (error: unknown) => {
    assert.ok(error instanceof StorageUnavailableError, `not typed retryable: ${error}`)
    assert.ok(isNetworkError(error))
    assert.equal((error.cause as { code?: string }).code, 'ECONNREFUSED')
    return true
  })

  server = await startServer(serverDir, server.port)
  assert.deepEqual(await storage.spans.findTrace(appId, kept.traceId, wideRange), [kept])
})
