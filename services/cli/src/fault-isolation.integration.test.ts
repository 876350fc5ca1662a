import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { tableNames } from '@spansift/clickhouse/tables'
import { StorageRejectedError } from '@spansift/core/storage-errors'
import { ADMIN_KEY, type RunningSpansift, randomHex, recentSpan, startSpansift } from './test-harness.ts'
import { otlpJsonExport } from './test-otlp.ts'

// One sender's bad data never fails another sender's request (issue 11).
let s: RunningSpansift
before(async () => {
  s = await startSpansift()
})
after(async () => {
  await s.stop()
})

async function storedSpans(applicationId: string): Promise<number> {
  const { spans } = tableNames(s.spansift.storage().runner.database)
  const [row] = await s.spansift
    .storage()
    .runner.select<{ n: string }>(
      'test.count',
      `SELECT count() AS n FROM ${spans} WHERE application_id = {app:UUID}`,
      { app: applicationId },
    )
  return Number(row?.n)
}

/** Posts one OTLP/JSON export of `spans` (hand-built OTLP/JSON span objects) for `key`. */
async function postSpans(key: string, spans: object[]): Promise<{ status: number; body: any }> {
  const response = await fetch(s.otlpUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ resourceSpans: [{ resource: {}, scopeSpans: [{ scope: {}, spans }] }] }),
  })
  return { status: response.status, body: await response.json() }
}

const nowNanos = () => BigInt(Date.now()) * 1_000_000n
const jsonSpan = (overrides: object = {}) => ({
  traceId: randomHex(16),
  spanId: randomHex(8),
  name: 'op',
  startTimeUnixNano: nowNanos().toString(),
  endTimeUnixNano: nowNanos().toString(),
  ...overrides,
})

describe('per-span validation at the receiver', () => {
  test('spans storage would refuse or over the limits are rejected through partial success, the rest stored', async () => {
    const app = await s.createApplication('limits')
    const day = 86_400_000_000_000n
    const cases: Array<[object, RegExp]> = [
      [{ startTimeUnixNano: '0' }, /start_time_unix_nano is missing/],
      [{ startTimeUnixNano: undefined }, /start_time_unix_nano is missing/],
      [{ endTimeUnixNano: (2n ** 63n + 5n).toString() }, /past 2262/],
      [{ startTimeUnixNano: (nowNanos() - 31n * day).toString() }, /more than 30 days in the past/],
      [{ endTimeUnixNano: (nowNanos() + day).toString() }, /more than 60 minutes in the future/],
      [{ name: 'x'.repeat(10 * 1024 * 1024) }, /name is longer than 1024 characters/],
      [
        { attributes: Array.from({ length: 1025 }, (_, i) => ({ key: `k${i}`, value: { intValue: i } })) },
        /more than 1024 attributes \(1025\)/,
      ],
    ]
    for (const [overrides, reason] of cases) {
      const answer = await postSpans(app.key, [jsonSpan(), jsonSpan(overrides)])
      assert.equal(answer.status, 200, JSON.stringify(answer.body))
      assert.equal(Number(answer.body.partialSuccess?.rejectedSpans), 1)
      assert.match(answer.body.partialSuccess.errorMessage, reason)
    }
    assert.equal(await storedSpans(app.id), cases.length)
  })
})

describe('embedded: storage refusing one request', () => {
  test("app A's spans storage refuses never fail app B's 300 concurrent exports", async () => {
    const a = await s.createApplication('bad-timestamps')
    const b = await s.createApplication('good-exports')
    // A's spans go straight onto the bus, past the receiver's validation (which now refuses
    // them at the door): a start time of 0 is what ClickHouse cannot parse.
    const bad = () =>
      s.spansift
        .bus()
        .publish([
          recentSpan({
            applicationId: a.id,
            traceId: randomHex(16),
            spanId: randomHex(8),
            startTimeUnixNano: 0n,
          }),
        ])
        .then(
          () => 'stored',
          (error: unknown) => (error instanceof StorageRejectedError ? 'refused' : `other: ${error}`),
        )
    const good = () =>
      fetch(s.otlpUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${b.key}`, 'content-type': 'application/json' },
        body: otlpJsonExport([{ traceId: randomHex(16), spanId: randomHex(8) }]),
      }).then((response) => response.status)

    // 300 exports of B, 20 at a time, each wave racing one bad publish of A, so A's span
    // lands in the same merged inserts as B's.
    const statuses: number[] = []
    const refusals: string[] = []
    for (let wave = 0; wave < 15; wave++) {
      const [aResult, ...bResults] = await Promise.all([bad(), ...Array.from({ length: 20 }, good)])
      refusals.push(aResult!)
      statuses.push(...bResults)
    }
    assert.equal(statuses.filter((status) => status === 200).length, 300, `B's statuses: ${statuses}`)
    assert.deepEqual(new Set(refusals), new Set(['refused']))
    assert.equal(await storedSpans(b.id), 300)
    assert.equal(await storedSpans(a.id), 0)
  })
})

describe('API request bodies', () => {
  /** A JSON-looking body of `mib` MiB, streamed in 1 MiB chunks (never held whole by the test). */
  const streamedBody = (mib: number) => {
    const chunk = new Uint8Array(1024 * 1024).fill(0x78)
    let sent = 0
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"data":{"x":"'))
        if (sent++ < mib) controller.enqueue(chunk)
        else controller.close()
      },
    })
  }
  const patch = (body: RequestInit['body'], headers: Record<string, string> = {}) =>
    fetch(`${s.apiUrl}/v1/datasets/${crypto.randomUUID()}/items/${crypto.randomUUID()}`, {
      method: 'PATCH',
      body,
      duplex: 'half',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', ...headers },
    } as RequestInit)

  test('a streamed 200 MiB PATCH gets 413 in the API error shape, quickly, without reading it whole', async () => {
    global.gc?.()
    const before = process.memoryUsage().rss
    const started = performance.now()
    const response = await patch(streamedBody(200))
    const elapsed = performance.now() - started
    assert.equal(response.status, 413)
    const body = (await response.json()) as { error: { code: string; message: string } }
    assert.equal(body.error.code, 'payload_too_large')
    assert.match(body.error.message, /larger than 4194304 bytes/)
    assert.ok(elapsed < 10_000, `took ${elapsed} ms`)
    const grown = process.memoryUsage().rss - before
    assert.ok(grown < 100 * 1024 * 1024, `RSS grew ${Math.round(grown / 2 ** 20)} MiB`)
  })

  test('a Content-Length over the limit is refused before the body is read', async () => {
    const response = await patch(new Uint8Array(5 * 1024 * 1024))
    assert.equal(response.status, 413)
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'payload_too_large')
  })

  test('a body under the limit still reaches the route', async () => {
    const response = await patch(JSON.stringify({ data: { x: 1 } }))
    assert.equal(response.status, 404)
  })
})
