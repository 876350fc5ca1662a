import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BusUnavailableError } from '@spansift/bus/span-bus'
import type { Authenticator } from '@spansift/core/authenticator'
import { silentLogger } from '@spansift/core/logger'
import { decodeExportTraceRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { encodeExportTraceRequestProtobuf } from '@spansift/core/otlp/encode-protobuf'
import { normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import type { WireTrace } from '@spansift/core/otlp/split-by-trace-wire'
import { genAiRequest, genAiSpan } from '@spansift/core/otlp/test-fixtures'
import type { Span } from '@spansift/core/span-model'
import { type IngestDeps, type IngestRequest, ingestExport } from './ingest-export.ts'

// The receiver's two paths to the bus: protobuf split on the wire (publishEncoded, the Kafka
// wiring) and decode + normalize (publish). They must answer alike.
const APP = '00000000-0000-4000-8000-000000000001'
const authenticator: Authenticator = {
  async authenticate() {
    return { principal: { kind: 'application', applicationId: APP, keyId: 'k', scope: 'ingest' } }
  },
}

function deps(publishEncoded?: (traces: readonly WireTrace[]) => Promise<void>) {
  const published: Span[][] = []
  const encoded: WireTrace[][] = []
  const d: IngestDeps = {
    authenticator,
    logger: silentLogger,
    publish: async (spans) => {
      published.push([...spans])
    },
    ...(publishEncoded === undefined
      ? {}
      : {
          publishEncoded: async (traces: readonly WireTrace[]) => {
            encoded.push([...traces])
            await publishEncoded(traces)
          },
        }),
  }
  return { d, published, encoded }
}

function request(body: Uint8Array, format: 'protobuf' | 'json' = 'protobuf'): IngestRequest {
  return { transport: 'http', key: 'ssk_x', format, body: async () => Buffer.from(body) }
}

/** One valid recent span and one with a 15-byte trace id. */
function mixedExport(): Uint8Array {
  const now = BigInt(Date.now()) * 1_000_000n
  const times = { startTimeUnixNano: now - 2_000_000_000n, endTimeUnixNano: now - 1_000_000_000n }
  return encodeExportTraceRequestProtobuf(
    genAiRequest([genAiSpan(times), genAiSpan({ ...times, traceId: new Uint8Array(15).fill(1) })]),
  )
}

test('a protobuf export takes the wire path: no spans built, the same partial success as the decode path', async () => {
  const body = mixedExport()
  const wire = deps(async () => {})
  const decode = deps()
  const viaWire = await ingestExport(wire.d, request(body))
  const viaDecode = await ingestExport(decode.d, request(body))
  assert.equal(viaWire.kind, 'partial')
  assert.deepEqual(viaWire, viaDecode)
  assert.equal(wire.published.length, 0)
  assert.equal(wire.encoded.length, 1)
  const spans = wire.encoded[0]!.flatMap(
    (trace) => normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(trace.value)).spans,
  )
  assert.deepEqual(spans, decode.published[0])
})

test('a JSON export still decodes and goes through publish', async () => {
  const wire = deps(async () => {})
  const body = JSON.stringify({ resourceSpans: [] })
  const outcome = await ingestExport(wire.d, request(new TextEncoder().encode(body), 'json'))
  assert.deepEqual(outcome, { kind: 'accepted', accepted: 0 })
  assert.equal(wire.published.length, 1)
  assert.equal(wire.encoded.length, 0)
})

test('the wire path answers bus backpressure and malformed bodies as the decode path does', async () => {
  const overloaded = deps(async () => {
    throw new BusUnavailableError('overloaded', 'too many bytes waiting for Kafka', 1)
  })
  const outcome = await ingestExport(overloaded.d, request(mixedExport()))
  assert.deepEqual(outcome, {
    kind: 'overloaded',
    message: 'too many bytes waiting for Kafka',
    retryAfterSeconds: 1,
  })
  const truncated = mixedExport().subarray(0, 40)
  assert.deepEqual(
    await ingestExport(deps(async () => {}).d, request(truncated)),
    await ingestExport(deps().d, request(truncated)),
  )
  assert.equal((await ingestExport(deps(async () => {}).d, request(truncated))).kind, 'invalid')
})
