import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { deflateRawSync, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib'
import { BodyError, readBody } from './read-body.ts'

// readBody behind a real HTTP server on loopback: what comes out is what the client compressed,
// and a body that inflates past the limit is refused as too large whatever its encoding.
const LIMIT = 1024 * 1024
let server: Server
let url: string

before(async () => {
  server = createServer(async (request, response) => {
    try {
      const body = await readBody(request, LIMIT)
      response.writeHead(200).end(JSON.stringify({ length: body.length, text: body.toString('utf8', 0, 64) }))
    } catch (error) {
      if (!(error instanceof BodyError)) throw error
      request.resume() // drain, so the client reads the answer instead of a reset
      response.writeHead(400).end(JSON.stringify({ kind: error.kind, message: error.message }))
    }
  })
  // Longer than any gap between two requests here (compressing a bomb takes seconds on a
  // busy machine): fetch reuses its idle connection, and a server closing it at the same
  // moment (Node's default keep-alive is 5 s) resets the next POST. CI saw exactly that.
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
})
after(() => new Promise<void>((resolve) => server.close(() => resolve())))

async function post(body: Uint8Array | string, encoding?: string): Promise<{ status: number; json: any }> {
  const response = await fetch(url, {
    method: 'POST',
    body,
    headers: encoding ? { 'content-encoding': encoding } : {},
  })
  return { status: response.status, json: await response.json() }
}

const text = 'spansift '.repeat(10_000)
const encoders: Array<[string, (b: Buffer) => Buffer]> = [
  ['gzip', (b) => gzipSync(b)],
  ['deflate', (b) => deflateSync(b)], // zlib-wrapped, as HTTP deflate means
  ['zstd', (b) => zstdCompressSync(b)],
]

describe('readBody', () => {
  test('identity bodies come through as sent', async () => {
    const { status, json } = await post(text)
    assert.equal(status, 200)
    assert.equal(json.length, text.length)
  })

  for (const [encoding, encode] of encoders) {
    test(`${encoding} bodies are decoded`, async () => {
      const { status, json } = await post(encode(Buffer.from(text)), encoding)
      assert.equal(status, 200, JSON.stringify(json))
      assert.equal(json.length, text.length)
      assert.equal(json.text, text.slice(0, 64))
    })

    test(`a ${encoding} bomb is refused as too large after decompression, not inflated whole`, async () => {
      // 256 MiB of zeros; inflating it whole would take 256 MiB (and seconds).
      const bomb = encode(Buffer.alloc(256 * 1024 * 1024))
      assert.ok(bomb.length < LIMIT, `the bomb is ${bomb.length} bytes compressed`)
      const started = performance.now()
      const { status, json } = await post(bomb, encoding)
      assert.equal(status, 400)
      assert.equal(json.kind, 'too_large')
      assert.match(json.message, /larger than 1048576 bytes \(after decompression\)/)
      assert.ok(performance.now() - started < 5_000)
    })

    test(`a body that is not ${encoding} is a bad encoding naming it`, async () => {
      const { status, json } = await post(`not ${encoding} at all`, encoding)
      assert.equal(status, 400)
      assert.equal(json.kind, 'bad_encoding')
      assert.match(json.message, new RegExp(`the ${encoding} body is not valid`))
    })
  }

  test('raw deflate (no zlib wrapper) is tolerated, as some clients send it', async () => {
    const { status, json } = await post(deflateRawSync(Buffer.from(text)), 'deflate')
    assert.equal(status, 200, JSON.stringify(json))
    assert.equal(json.length, text.length)
  })

  test('the encoding name is matched case-insensitively', async () => {
    const { status } = await post(zstdCompressSync(Buffer.from(text)), ' ZSTD ')
    assert.equal(status, 200)
  })

  test('another encoding is unsupported, naming the ones that are', async () => {
    const { status, json } = await post(text, 'br')
    assert.equal(status, 400)
    assert.equal(json.kind, 'unsupported_encoding')
    assert.match(json.message, /Content-Encoding "br" is not supported; use gzip, deflate, zstd or none/)
  })

  test('an empty compressed body is an empty body', async () => {
    const { status, json } = await post(new Uint8Array(0), 'zstd')
    assert.equal(status, 200)
    assert.equal(json.length, 0)
  })
})
