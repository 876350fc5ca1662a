import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { deflateRawSync, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib'
import { tableNames } from '@spansift/clickhouse/tables'
import protobuf from 'protobufjs'
import { ADMIN_KEY, type RunningSpansift, rangeAroundNow, startSpansift } from './test-harness.ts'
import { otlpJsonExport, randomHexId } from './test-otlp.ts'

// Every bad input gets a clear answer, per the OTLP/HTTP specification, and loses nothing
// that could have been kept.
let s: RunningSpansift
let app: { id: string; key: string }
const statusType = protobuf
  .loadSync(join(import.meta.dirname, '../../../proto/google/rpc/status.proto'))
  .lookupType('google.rpc.Status')

before(async () => {
  s = await startSpansift()
  app = await s.createApplication('bad-input')
})
after(async () => {
  await s.stop()
})

const hex = randomHexId

/** An OTLP/JSON request with the given spans (hex ids, as the specification wants). */
const jsonRequest = (spans: Array<{ traceId: string; spanId: string; name?: string }>) =>
  otlpJsonExport(spans)

async function post(body: string | Uint8Array, headers: Record<string, string>): Promise<Response> {
  return fetch(s.otlpUrl, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${app.key}`, ...headers },
  })
}

async function expectProtobufStatus(response: Response, status: number, message: RegExp): Promise<void> {
  assert.equal(response.status, status)
  assert.equal(response.headers.get('content-type'), 'application/x-protobuf')
  const decoded = statusType.toObject(statusType.decode(new Uint8Array(await response.arrayBuffer()))) as {
    message: string
  }
  assert.match(decoded.message, message)
}

async function expectJsonStatus(response: Response, status: number, message: RegExp): Promise<void> {
  assert.equal(response.status, status)
  assert.equal(response.headers.get('content-type'), 'application/json')
  const decoded = (await response.json()) as { code: number; message: string }
  assert.match(decoded.message, message)
}

describe('refused requests', () => {
  test('malformed protobuf is 400 with a google.rpc.Status body in protobuf', async () => {
    const response = await post(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), {
      'content-type': 'application/x-protobuf',
    })
    await expectProtobufStatus(response, 400, /not a valid ExportTraceServiceRequest/)
  })

  test('malformed JSON is 400 with a JSON status', async () => {
    await expectJsonStatus(
      await post('{"resourceSpans": [', { 'content-type': 'application/json' }),
      400,
      /not a valid/,
    )
  })

  test('an empty body is 400', async () => {
    await expectProtobufStatus(
      await post(new Uint8Array(0), { 'content-type': 'application/x-protobuf' }),
      400,
      /empty/,
    )
  })

  test('another content type is 415', async () => {
    const response = await post('hello', { 'content-type': 'text/plain' })
    assert.equal(response.status, 415)
    assert.match(((await response.json()) as { message: string }).message, /application\/x-protobuf/)
  })

  test('an unsupported Content-Encoding is 415, invalid gzip is 400', async () => {
    const br = await post(jsonRequest([{ traceId: hex(16), spanId: hex(8) }]), {
      'content-type': 'application/json',
      'content-encoding': 'br',
    })
    await expectJsonStatus(br, 415, /Content-Encoding "br" is not supported; use gzip, deflate, zstd or none/)
    const notGzip = await post('not gzip at all', {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    })
    await expectJsonStatus(notGzip, 400, /gzip/)
  })

  test('no key and a wrong key are 401; the admin key is 403', async () => {
    const body = jsonRequest([{ traceId: hex(16), spanId: hex(8) }])
    const none = await fetch(s.otlpUrl, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    })
    await expectJsonStatus(none, 401, /API key is required/)
    const wrong = await fetch(s.otlpUrl, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-api-key': 'ssk_wrong' },
    })
    await expectJsonStatus(wrong, 401, /not valid/)
    const admin = await fetch(s.otlpUrl, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    })
    await expectJsonStatus(admin, 403, /application key/)
  })

  test('a 21 MiB body is a readable 413, 20 times in a row', async () => {
    // The exporter must read the 413 (and drop the batch) rather than see a reset and retry.
    const big = new Uint8Array(21 * 1024 * 1024)
    for (let attempt = 0; attempt < 20; attempt++) {
      const response = await post(big, { 'content-type': 'application/x-protobuf' })
      await expectProtobufStatus(response, 413, /larger than 20971520 bytes/)
    }
  })

  test('a 21 MiB chunked body (no Content-Length) is a readable 413, 20 times in a row', async () => {
    const chunk = new Uint8Array(1024 * 1024)
    for (let attempt = 0; attempt < 20; attempt++) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 21; i++) controller.enqueue(chunk)
          controller.close()
        },
      })
      const response = await fetch(s.otlpUrl, {
        method: 'POST',
        body,
        duplex: 'half',
        headers: { authorization: `Bearer ${app.key}`, 'content-type': 'application/x-protobuf' },
      } as RequestInit)
      await expectProtobufStatus(response, 413, /larger than 20971520 bytes/)
    }
  })

  test('a gzip body that inflates past the limit is 413, cut off without inflating it whole', async () => {
    // 256 MiB of zeros compress to about 250 KiB; inflating it whole would cost 256 MiB.
    const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024), { level: 9 })
    assert.ok(bomb.length < 1024 * 1024)
    const before = process.memoryUsage().rss
    const started = performance.now()
    const response = await post(bomb, {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
    })
    await expectProtobufStatus(response, 413, /after decompression/)
    assert.ok(process.memoryUsage().rss - before < 120 * 1024 * 1024, 'the bomb was inflated past the limit')
    assert.ok(performance.now() - started < 5_000)
  })

  for (const [encoding, compress] of [
    ['zstd', zstdCompressSync],
    ['deflate', deflateSync],
  ] as const) {
    test(`a ${encoding} body that inflates past the limit is 413, cut off without inflating it whole`, async () => {
      const bomb = compress(Buffer.alloc(256 * 1024 * 1024))
      assert.ok(bomb.length < 1024 * 1024)
      const started = performance.now()
      const response = await post(bomb, {
        'content-type': 'application/x-protobuf',
        'content-encoding': encoding,
      })
      await expectProtobufStatus(response, 413, /larger than 20971520 bytes \(after decompression\)/)
      assert.ok(performance.now() - started < 5_000)
    })
  }

  test('GET and other paths are refused clearly', async () => {
    const get = await fetch(s.otlpUrl, { headers: { authorization: `Bearer ${app.key}` } })
    assert.equal(get.status, 405)
    assert.equal(get.headers.get('allow'), 'POST')
    const other = await fetch(s.otlpUrl.replace('/v1/traces', '/v1/metrics'), { method: 'POST' })
    assert.equal(other.status, 404)
  })
})

describe('partial success', () => {
  test('spans with ids of the wrong length are rejected and counted; the rest are stored', async () => {
    const goodTrace = hex(16)
    const body = jsonRequest([
      { traceId: goodTrace, spanId: hex(8), name: 'kept' },
      { traceId: hex(15), spanId: hex(8), name: 'short trace id' },
      { traceId: hex(16), spanId: hex(7), name: 'short span id' },
    ])
    const response = await post(body, { 'content-type': 'application/json' })
    assert.equal(response.status, 200)
    const answer = (await response.json()) as {
      partialSuccess?: { rejectedSpans: string | number; errorMessage: string }
    }
    assert.equal(Number(answer.partialSuccess?.rejectedSpans), 2)
    assert.match(answer.partialSuccess!.errorMessage, /trace_id must be 16 bytes/)
    assert.match(answer.partialSuccess!.errorMessage, /span_id must be 8 bytes/)
    const read = await s.api('GET', `/v1/traces/${goodTrace}?${rangeAroundNow()}`, app.key)
    assert.equal(read.status, 200)
    assert.deepEqual(
      read.body.spans.map((sp: { name: string }) => sp.name),
      ['kept'],
    )
  })

  for (const [encoding, label, compress] of [
    ['zstd', 'zstd', zstdCompressSync],
    ['deflate', 'deflate (zlib)', deflateSync],
    ['deflate', 'deflate (raw, as some clients send it)', deflateRawSync],
    ['gzip', 'gzip', gzipSync],
  ] as const) {
    test(`a ${label} body is decoded and its spans stored`, async () => {
      const traceId = hex(16)
      const body = Buffer.from(jsonRequest([{ traceId, spanId: hex(8), name: `sent as ${encoding}` }]))
      const response = await post(compress(body), {
        'content-type': 'application/json',
        'content-encoding': encoding,
      })
      assert.equal(response.status, 200, await response.clone().text())
      const read = await s.api('GET', `/v1/traces/${traceId}?${rangeAroundNow()}`, app.key)
      assert.deepEqual(
        read.body.spans.map((sp: { name: string }) => sp.name),
        [`sent as ${encoding}`],
      )
    })
  }

  test('a full success answers an empty ExportTraceServiceResponse', async () => {
    const response = await post(jsonRequest([{ traceId: hex(16), spanId: hex(8) }]), {
      'content-type': 'application/json',
    })
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), {})
  })
})

describe('storage failure', () => {
  test('when ClickHouse cannot store, the export is answered 503 with Retry-After and nothing is acknowledged', async () => {
    const storage = s.spansift.storage()
    const { spans } = tableNames(storage.runner.database)
    await storage.runner.command('test', `RENAME TABLE ${spans} TO ${spans}_away`)
    try {
      const traceId = hex(16)
      const response = await post(jsonRequest([{ traceId, spanId: hex(8) }]), {
        'content-type': 'application/json',
      })
      await expectJsonStatus(response, 503, /could not be stored/)
      assert.ok(Number(response.headers.get('retry-after')) >= 1)
    } finally {
      await storage.runner.command('test', `RENAME TABLE ${spans}_away TO ${spans}`)
    }
    // Once storage is back, the exporter's retry lands.
    const traceId = hex(16)
    const retry = await post(jsonRequest([{ traceId, spanId: hex(8) }]), {
      'content-type': 'application/json',
    })
    assert.equal(retry.status, 200)
    const read = await s.api('GET', `/v1/traces/${traceId}?${rangeAroundNow()}`, app.key)
    assert.equal(read.body.spans.length, 1)
  })
})
