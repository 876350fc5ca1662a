import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  type Client,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js'
import { decodeExportTraceRequestJson } from '@spansift/core/otlp/decode-json'
import { encodeExportTraceRequestProtobuf } from '@spansift/core/otlp/encode-protobuf'
import { traceServiceDefinition } from '@spansift/receiver/otlp-grpc-receiver'
import { otlpJsonExport, randomHexId } from './test-otlp.ts'
import { startClickHouseProcess, startSpansiftProcess, type TestProcess } from './test-processes.ts'

// Key lifecycle across processes: two spansift processes (each every role, each its own
// caches) share one ClickHouse through the chdb HTTP server. Keys are managed through
// process A; process B serves OTLP (HTTP and gRPC) and the API with them. B's known-key
// cache holds a key 5 s (SPANSIFT_KEY_CACHE_SECONDS' default): a revocation made in A
// must reach B within seconds.

const ADMIN_KEY = 'keys-admin-key-0123456789'
const WITHIN_MS = 15_000

interface Node {
  process: TestProcess
  apiUrl: string
  otlpUrl: string
  grpcAddress: string
  dataDir: string
}

let clickhouse: { process: TestProcess; url: string }
let clickhouseDir: string
let a: Node
let b: Node

/** The port a started process logged for `what` (each listens on an ephemeral port: no race for a free one). */
function loggedPort(process: TestProcess, what: string): number {
  const match = new RegExp(`"msg":"${what} listening"[^\\n]*"port":(\\d+)`).exec(process.output())
  assert.ok(match, `${what} logged its port`)
  return Number(match[1])
}

async function startNode(): Promise<Node> {
  const dataDir = mkdtempSync(join(tmpdir(), 'spansift-keys-'))
  const process = await startSpansiftProcess(['all'], {
    SPANSIFT_CLICKHOUSE_URL: `${clickhouse.url}/spansift`,
    SPANSIFT_DATA_DIR: dataDir,
    SPANSIFT_ADMIN_KEY: ADMIN_KEY,
    SPANSIFT_API_PORT: '0',
    SPANSIFT_OTLP_HTTP_PORT: '0',
    SPANSIFT_OTLP_GRPC_PORT: '0',
    // Last use written every second, so the list shows it without a long wait.
    SPANSIFT_KEY_USAGE_FLUSH_SECONDS: '1',
  })
  return {
    process,
    apiUrl: `http://127.0.0.1:${loggedPort(process, 'API')}`,
    otlpUrl: `http://127.0.0.1:${loggedPort(process, 'OTLP/HTTP receiver')}/v1/traces`,
    grpcAddress: `127.0.0.1:${loggedPort(process, 'OTLP/gRPC receiver')}`,
    dataDir,
  }
}

before(async () => {
  clickhouseDir = mkdtempSync(join(tmpdir(), 'spansift-keys-ch-'))
  clickhouse = await startClickHouseProcess(clickhouseDir)
  a = await startNode() // migrates the schema
  b = await startNode()
})

after(async () => {
  for (const node of [b, a]) {
    if (!node) continue
    await node.process.stop(10_000)
    rmSync(node.dataDir, { recursive: true, force: true })
  }
  await clickhouse?.process.stop(10_000)
  rmSync(clickhouseDir, { recursive: true, force: true })
})

async function api(
  node: Node,
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${node.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}

async function otlpHttp(node: Node, key: string): Promise<{ status: number; message: string }> {
  const response = await fetch(node.otlpUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: otlpJsonExport([{ traceId: randomHexId(16), spanId: randomHexId(8) }]),
  })
  const text = await response.text()
  return { status: response.status, message: text ? (JSON.parse(text).message ?? '') : '' }
}

type TraceServiceClient = Client & {
  Export(request: Uint8Array, metadata: Metadata, callback: (error: ServiceError | null) => void): void
}
const TraceServiceClient = makeGenericClientConstructor(traceServiceDefinition, 'TraceService')

/** One OTLP/gRPC export; resolves with the status code (0: OK) and details. */
async function otlpGrpc(node: Node, key: string): Promise<{ code: number; details: string }> {
  const body = encodeExportTraceRequestProtobuf(
    decodeExportTraceRequestJson(otlpJsonExport([{ traceId: randomHexId(16), spanId: randomHexId(8) }])),
  )
  const client = new TraceServiceClient(
    node.grpcAddress,
    credentials.createInsecure(),
  ) as unknown as TraceServiceClient
  const metadata = new Metadata()
  metadata.set('authorization', `Bearer ${key}`)
  try {
    return await new Promise((resolve) =>
      client.Export(body, metadata, (error) =>
        resolve(error ? { code: error.code, details: error.details } : { code: 0, details: '' }),
      ),
    )
  } finally {
    client.close()
  }
}

/** Polls `check` until it returns true; fails after `timeoutMs`. Returns the time it took. */
async function within(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  for (;;) {
    if (await check()) return Date.now() - started
    if (Date.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function createApplication(name: string): Promise<string> {
  const created = await api(a, 'POST', '/v1/applications', ADMIN_KEY, { name })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  return created.body.id
}

async function createKey(application: string, body?: unknown, key = ADMIN_KEY): Promise<any> {
  const created = await api(a, 'POST', `/v1/applications/${application}/keys`, key, body)
  assert.equal(created.status, 201, JSON.stringify(created.body))
  return created.body
}

describe('revocation', () => {
  test('a key revoked in one process is refused by another on OTLP/HTTP, OTLP/gRPC and the API within seconds', async () => {
    const appId = await createApplication('revoke-bot')
    const { key, id } = await createKey(appId)
    // B knows the key (its cache holds it).
    assert.equal((await otlpHttp(b, key)).status, 200)
    assert.equal((await otlpGrpc(b, key)).code, 0)
    assert.equal((await api(b, 'GET', '/v1/principal', key)).status, 200)

    const revoked = await api(a, 'POST', `/v1/keys/${id}/revoke`, ADMIN_KEY)
    assert.equal(revoked.status, 200)
    assert.equal(revoked.body.status, 'revoked')

    const httpMs = await within(WITHIN_MS, 'OTLP/HTTP refuses the revoked key', async () => {
      return (await otlpHttp(b, key)).status === 401
    })
    const http = await otlpHttp(b, key)
    assert.deepEqual(http, { status: 401, message: 'the API key has been revoked' })
    const grpc = await otlpGrpc(b, key)
    assert.deepEqual(grpc, { code: 16, details: 'the API key has been revoked' }) // UNAUTHENTICATED
    const answer = await api(b, 'GET', '/v1/principal', key)
    assert.equal(answer.status, 401)
    assert.deepEqual(answer.body, { error: { code: 'key_revoked', message: 'the API key has been revoked' } })
    // The process that revoked it refuses it too.
    assert.equal((await api(a, 'GET', '/v1/principal', key)).status, 401)
    console.log(
      `[demo] key ${revoked.body.prefix}… revoked in process A; process B refused it after ${httpMs} ms:\n` +
        `[demo]   OTLP/HTTP  ${http.status} ${JSON.stringify({ message: http.message })}\n` +
        `[demo]   OTLP/gRPC  code ${grpc.code} (UNAUTHENTICATED) "${grpc.details}"\n` +
        `[demo]   API        ${answer.status} ${JSON.stringify(answer.body)}`,
    )
  })

  test('revoking by prefix; an unknown prefix is 404', async () => {
    const appId = await createApplication('prefix-bot')
    const { key, prefix } = await createKey(appId)
    assert.equal(prefix, key.slice(0, 10))
    const revoked = await api(a, 'POST', `/v1/keys/${prefix}/revoke`, ADMIN_KEY)
    assert.equal(revoked.status, 200)
    assert.equal(revoked.body.status, 'revoked')
    assert.equal((await api(a, 'POST', '/v1/keys/ssk_zzzzzz/revoke', ADMIN_KEY)).status, 404)
  })

  test('rotation: a new key at once; the old one works through the grace period, then is refused', async () => {
    const appId = await createApplication('rotate-bot')
    const old = await createKey(appId, { scope: 'ingest' })
    assert.equal((await otlpHttp(b, old.key)).status, 200)
    const rotated = await api(a, 'POST', `/v1/keys/${old.id}/rotate`, ADMIN_KEY, { grace_seconds: 3 })
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body))
    assert.equal(rotated.body.key.scope, 'ingest', 'the new key has the old one’s scope')
    assert.equal(rotated.body.previous.status, 'active', 'in its grace period')
    assert.equal((await otlpHttp(b, rotated.body.key.key)).status, 200)
    assert.equal((await otlpHttp(b, old.key)).status, 200)
    await within(WITHIN_MS, 'the old key is refused after its grace period', async () => {
      return (await otlpHttp(b, old.key)).status === 401
    })
    assert.equal((await otlpHttp(b, old.key)).message, 'the API key has been revoked')
    assert.equal((await otlpHttp(b, rotated.body.key.key)).status, 200)
  })
})

test('an expired key is refused on OTLP and on the API, saying it expired', async () => {
  const appId = await createApplication('expiry-bot')
  const expiresAt = new Date(Date.now() + 3_000).toISOString()
  const { key } = await createKey(appId, { expires_at: expiresAt })
  assert.equal((await api(b, 'GET', '/v1/principal', key)).status, 200)
  await within(WITHIN_MS, 'the expired key is refused', async () => {
    return (await api(b, 'GET', '/v1/principal', key)).status === 401
  })
  assert.ok(Date.now() >= Date.parse(expiresAt), 'not refused before its expiry')
  const answer = await api(b, 'GET', '/v1/principal', key)
  assert.deepEqual(answer.body, { error: { code: 'key_expired', message: 'the API key has expired' } })
  assert.deepEqual(await otlpHttp(b, key), { status: 401, message: 'the API key has expired' })
  // An expiry in the past would make a dead key: refused.
  const past = await api(a, 'POST', `/v1/applications/${appId}/keys`, ADMIN_KEY, {
    expires_at: '2020-01-01T00:00:00Z',
  })
  assert.equal(past.status, 400)
})

test('scopes: ingest is OTLP only; read-write is OTLP and the API; admin also manages its application’s keys', async () => {
  const appId = await createApplication('scope-bot')
  const otherId = await createApplication('scope-other')
  const ingest = (await createKey(appId, { scope: 'ingest' })).key
  const readWrite = (await createKey(appId)).key
  const admin = (await createKey(appId, { scope: 'admin' })).key

  for (const key of [ingest, readWrite, admin]) {
    assert.equal((await otlpHttp(b, key)).status, 200)
    assert.equal((await otlpGrpc(b, key)).code, 0)
  }
  const ingestApi = await api(b, 'GET', '/v1/principal', ingest)
  assert.equal(ingestApi.status, 403)
  assert.match(ingestApi.body.error.message, /scope ingest/)
  assert.equal((await api(b, 'GET', `/v1/datasets?application_id=${appId}`, ingest)).status, 403)

  const principal = await api(b, 'GET', '/v1/principal', readWrite)
  assert.equal(principal.status, 200)
  assert.equal(principal.body.scope, 'read-write')
  assert.equal((await api(b, 'GET', `/v1/datasets?application_id=${appId}`, readWrite)).status, 200)
  assert.equal((await api(b, 'GET', `/v1/applications/${appId}/keys`, readWrite)).status, 403)

  // admin-scoped: its own application's keys, nothing across applications.
  const listed = await api(b, 'GET', `/v1/applications/${appId}/keys`, admin)
  assert.equal(listed.status, 200)
  assert.equal(listed.body.keys.length, 3)
  const minted = await api(b, 'POST', `/v1/applications/${appId}/keys`, admin, { scope: 'ingest' })
  assert.equal(minted.status, 201)
  assert.equal((await api(b, 'POST', `/v1/keys/${minted.body.id}/revoke`, admin)).status, 200)
  assert.equal((await api(b, 'GET', `/v1/applications/${otherId}/keys`, admin)).status, 404)
  assert.equal((await api(b, 'GET', '/v1/applications', admin)).status, 403)
  assert.equal((await api(b, 'POST', '/v1/applications', admin, { name: 'nope' })).status, 403)
  // The admin key (SPANSIFT_ADMIN_KEY) cannot export spans: it belongs to no application.
  assert.equal((await otlpHttp(b, ADMIN_KEY)).status, 403)
})

test('the list shows prefix, scope, created and last used, a page at a time', async () => {
  const appId = await createApplication('list-bot')
  const first = await createKey(appId)
  const second = await createKey(appId, { scope: 'ingest' })
  const before = await api(a, 'GET', `/v1/applications/${appId}/keys`, ADMIN_KEY)
  assert.equal(before.status, 200)
  assert.deepEqual(
    before.body.keys.map((k: any) => [k.id, k.prefix, k.scope, k.last_used_at]),
    [
      [first.id, first.prefix, 'read-write', null],
      [second.id, second.prefix, 'ingest', null],
    ],
  )
  assert.ok(before.body.keys.every((k: any) => /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(k.created_at)))
  // Used in B; B writes its keys' last use every second; A lists it.
  const usedAt = Date.now()
  assert.equal((await otlpHttp(b, second.key)).status, 200)
  await within(WITHIN_MS, 'the list shows the last use', async () => {
    const listed = await api(a, 'GET', `/v1/applications/${appId}/keys`, ADMIN_KEY)
    return listed.body.keys[1].last_used_at !== null
  })
  const after = await api(a, 'GET', `/v1/applications/list-bot/keys`, ADMIN_KEY)
  const lastUsed = Date.parse(after.body.keys[1].last_used_at)
  assert.ok(lastUsed >= usedAt - 1000 && lastUsed <= Date.now(), after.body.keys[1].last_used_at)
  assert.equal(after.body.keys[0].last_used_at, null, 'an unused key shows none')

  const page1 = await api(a, 'GET', `/v1/applications/${appId}/keys?limit=1`, ADMIN_KEY)
  assert.deepEqual(
    page1.body.keys.map((k: any) => k.id),
    [first.id],
  )
  assert.ok(page1.body.next_cursor)
  const page2 = await api(
    a,
    'GET',
    `/v1/applications/${appId}/keys?limit=1&cursor=${page1.body.next_cursor}`,
    ADMIN_KEY,
  )
  assert.deepEqual(
    page2.body.keys.map((k: any) => k.id),
    [second.id],
  )
  assert.equal(page2.body.next_cursor, null)
  assert.equal((await api(a, 'GET', `/v1/applications/${appId}/keys?cursor=junk`, ADMIN_KEY)).status, 400)
})

test('/openapi.json documents the key routes with their schemas', async () => {
  const document = (await (await fetch(`${a.apiUrl}/openapi.json`)).json()) as { paths: Record<string, any> }
  for (const path of [
    '/v1/applications/{application}/keys',
    '/v1/keys/{key}/revoke',
    '/v1/keys/{key}/rotate',
  ]) {
    assert.ok(document.paths[path], `${path} is documented`)
  }
  const create = document.paths['/v1/applications/{application}/keys'].post
  assert.deepEqual(create.requestBody.content['application/json'].schema.properties.scope.enum, [
    'ingest',
    'read-write',
    'admin',
  ])
  const list = document.paths['/v1/applications/{application}/keys'].get
  assert.deepEqual(
    list.parameters.map((p: { name: string }) => p.name),
    ['limit', 'cursor'],
  )
})

describe('spansift keys (the CLI, as its own process)', () => {
  const main = join(import.meta.dirname, 'main.ts')
  const cli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [main, ...args, '--api-url', a.apiUrl, '--key', ADMIN_KEY],
        { env: { PATH: process.env.PATH ?? '' }, timeout: 60_000 },
        (error, stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr })
        },
      )
    })

  test('create with a scope and an expiry, list, rotate, revoke by prefix', async () => {
    await createApplication('cli-keys-bot')
    const created = await cli(['keys', 'create', 'cli-keys-bot', '--scope', 'ingest', '--expires-in', '30d'])
    assert.equal(created.code, 0, created.stderr)
    const key = created.stdout.trim()
    assert.match(key, /^ssk_[A-Za-z0-9_-]{43}$/)
    assert.match(created.stderr, /scope ingest, expires 20\d\d-.*shown once/)
    assert.equal((await otlpHttp(b, key)).status, 200)

    const listed = await cli(['keys', 'list', 'cli-keys-bot'])
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /^ID\s+PREFIX\s+SCOPE\s+STATUS\s+CREATED\s+LAST USED\s+EXPIRES\n/)
    assert.match(listed.stdout, new RegExp(`${key.slice(0, 10)}\\s+ingest\\s+active`))

    const rotated = await cli(['keys', 'rotate', key.slice(0, 10), '--json'])
    assert.equal(rotated.code, 0, rotated.stderr)
    const { key: next, previous } = JSON.parse(rotated.stdout)
    assert.equal(previous.status, 'revoked')
    assert.equal(next.scope, 'ingest')

    const revoked = await cli(['keys', 'revoke', next.prefix])
    assert.equal(revoked.code, 0, revoked.stderr)
    assert.match(revoked.stdout, new RegExp(`^revoked key ${next.id} \\(${next.prefix}…\\)`))
    const after = JSON.parse((await cli(['keys', 'list', 'cli-keys-bot', '--json'])).stdout)
    assert.deepEqual(
      after.keys.map((k: { status: string }) => k.status),
      ['revoked', 'revoked'],
    )

    const bad = await cli(['keys', 'create', 'cli-keys-bot', '--expires-in', 'soon'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--expires-in "soon" is not a duration/)
    const badScope = await cli(['keys', 'create', 'cli-keys-bot', '--scope', 'root'])
    assert.equal(badScope.code, 1)
    assert.match(badScope.stderr, /scope/)
  })
})
