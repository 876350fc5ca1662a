import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { encodeExportTraceRequestProtobuf } from '@spansift/core/otlp/encode-protobuf'
import type { OtlpKeyValue } from '@spansift/core/otlp/otlp-types'
import { ADMIN_KEY, randomHex } from './test-harness.ts'
import { freePort } from './test-otlp.ts'
import { startSpansiftProcess, type TestProcess } from './test-processes.ts'

// Four concurrent ~16 MiB spans of a million attributes each, against spansift in its own
// process, whose peak RSS (VmHWM) is read from /proc: they are refused by the span limits
// (or get 429 from the in-flight byte bound) instead of taking gigabytes (issue 11: 3.1 GiB).
const PEAK_RSS_BOUND_BYTES = 1280 * 1024 * 1024
const CONCURRENT = 4
const ATTRIBUTES = 1_000_000

let spansift: TestProcess
let dataDir: string
let otlpUrl: string
let apiUrl: string

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'spansift-memory-'))
  const [otlpPort, grpcPort, apiPort] = [await freePort(), await freePort(), await freePort()]
  otlpUrl = `http://127.0.0.1:${otlpPort}/v1/traces`
  apiUrl = `http://127.0.0.1:${apiPort}`
  spansift = await startSpansiftProcess([], {
    SPANSIFT_DATA_DIR: dataDir,
    SPANSIFT_ADMIN_KEY: ADMIN_KEY,
    SPANSIFT_OTLP_HTTP_PORT: String(otlpPort),
    SPANSIFT_OTLP_GRPC_PORT: String(grpcPort),
    SPANSIFT_API_PORT: String(apiPort),
  })
})
after(async () => {
  await spansift?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

/** The peak resident set size of the process so far, in bytes. */
function peakRss(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  assert.ok(match, 'no VmHWM in /proc/<pid>/status')
  return Number(match[1]) * 1024
}

async function call(method: string, path: string, body?: unknown): Promise<Record<string, string>> {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  assert.equal(response.status, 201, await response.clone().text())
  return (await response.json()) as Record<string, string>
}

/** One span with `ATTRIBUTES` small attributes, protobuf-encoded: about 16 MiB. */
function millionAttributeExport(): Uint8Array {
  const attributes: OtlpKeyValue[] = new Array(ATTRIBUTES)
  for (let i = 0; i < ATTRIBUTES; i++) attributes[i] = { key: `k${i}`, value: { type: 'string', value: 'v' } }
  const now = BigInt(Date.now()) * 1_000_000n
  return encodeExportTraceRequestProtobuf({
    resourceSpans: [
      {
        resource: { attributes: [], droppedAttributesCount: 0, entityRefs: [] },
        schemaUrl: '',
        scopeSpans: [
          {
            scope: { name: 'memory', version: '', attributes: [], droppedAttributesCount: 0 },
            schemaUrl: '',
            spans: [
              {
                traceId: Buffer.from(randomHex(16), 'hex'),
                spanId: Buffer.from(randomHex(8), 'hex'),
                parentSpanId: new Uint8Array(0),
                traceState: '',
                flags: 0,
                name: 'huge',
                kind: 1,
                startTimeUnixNano: now,
                endTimeUnixNano: now,
                attributes,
                droppedAttributesCount: 0,
                events: [],
                droppedEventsCount: 0,
                links: [],
                droppedLinksCount: 0,
                status: { code: 0, message: '' },
              },
            ],
          },
        ],
      },
    ],
  })
}

test('four concurrent million-attribute spans are refused without taking gigabytes', async () => {
  const application = await call('POST', '/v1/applications', { name: 'huge-spans' })
  const { key } = await call('POST', `/v1/applications/${application.id}/keys`)
  const body = millionAttributeExport()
  assert.ok(
    body.byteLength > 15 * 1024 * 1024 && body.byteLength < 20 * 1024 * 1024,
    `${body.byteLength} bytes`,
  )
  const pid = spansift.child.pid!
  const idle = peakRss(pid)
  const answers = await Promise.all(
    Array.from({ length: CONCURRENT }, async () => {
      const response = await fetch(otlpUrl, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-protobuf' },
      })
      return { status: response.status, body: new Uint8Array(await response.arrayBuffer()) }
    }),
  )
  const peak = peakRss(pid)
  console.log(
    `peak RSS ${Math.round(peak / 2 ** 20)} MiB (idle peak ${Math.round(idle / 2 ** 20)} MiB), statuses ${answers.map((a) => a.status)}`,
  )
  for (const answer of answers) {
    // 200 with partial success naming the limit, or 429: never stored, never 503.
    assert.ok(answer.status === 200 || answer.status === 429, `status ${answer.status}`)
    if (answer.status === 200)
      assert.match(Buffer.from(answer.body).toString(), /more than 1024 attributes \(1000000\)/)
  }
  assert.ok(peak < PEAK_RSS_BOUND_BYTES, `peak RSS ${Math.round(peak / 2 ** 20)} MiB`)
})
