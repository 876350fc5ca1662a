import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { createApiClient } from './api-client.ts'
import { CliError } from './command.ts'

// A list served in pages of 2 over loopback: listAll follows next_cursor to the end.
const all = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id }))
const asked: string[] = []
let server: Server
let baseUrl: string

before(async () => {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x')
    asked.push(`${url.pathname}${url.search}`)
    if (url.pathname === '/broken') {
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ next_cursor: null }))
      return
    }
    const start = Number(url.searchParams.get('cursor') ?? 0)
    const page = all.slice(start, start + 2)
    const next = start + 2 < all.length ? String(start + 2) : null
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify({ things: page, next_cursor: next }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(() => server?.close())

test('listAll follows next_cursor until null, keeping the query, in order', async () => {
  const client = createApiClient({ baseUrl, key: 'k' })
  assert.deepEqual(await client.listAll('/v1/things?application_id=x', 'things'), all)
  assert.deepEqual(asked, [
    '/v1/things?application_id=x&limit=1000',
    '/v1/things?application_id=x&limit=1000&cursor=2',
    '/v1/things?application_id=x&limit=1000&cursor=4',
  ])
})

test('an answer without the list is a CLI error naming it', async () => {
  const client = createApiClient({ baseUrl, key: 'k' })
  await assert.rejects(
    client.listAll('/broken', 'things'),
    (e: unknown) => e instanceof CliError && /things/.test(e.message),
  )
})
