import assert from 'node:assert/strict'
import { Buffer } from 'node:buffer'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { Span } from '../span-model.ts'
import { OtlpDecodeError } from './decode-error.ts'
import { decodeExportTraceRequestProtobuf } from './decode-protobuf.ts'
import { encodeExportTraceRequestProtobuf } from './encode-protobuf.ts'
import { normalizeExportTraceRequest } from './normalize.ts'
import { DEFAULT_SPAN_LIMITS, type SpanLimits } from './span-limits.ts'
import { spansToExportRequest } from './spans-to-request.ts'
import { splitExportTraceRequestByTrace } from './split-by-trace-wire.ts'
import { genAiRequest, genAiSpan } from './test-fixtures.ts'

const APP = '0b6c2a0e-6a43-4d56-9d0f-3f9e1c1e8a01'
const OTHER_APP = '7d1f0c55-1111-4222-8333-944455556666'
const NOW_MS = 1_763_805_700_000
const NOW_NS = BigInt(NOW_MS) * 1_000_000n

/** Small limits, so generated spans cross every one of them often. */
const LIMITS: SpanLimits = {
  attributeCount: 4,
  attributeValueLength: 6,
  eventCount: 2,
  linkCount: 2,
  eventAttributeCount: 2,
  linkAttributeCount: 2,
  nameLength: 5,
  maxAgeMs: 60_000,
  maxFutureMs: 60_000,
}

// A protobuf writer for the test: it can put unknown fields, repeated singular fields and
// groups where the production encoder never would.
type Bytes = number[]
function varint(value: bigint): Bytes {
  let v = BigInt.asUintN(64, value)
  const out: Bytes = []
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return out
}
const tag = (field: number, wire: number) => varint(BigInt((field << 3) | wire))
const ld = (field: number, content: Bytes | Uint8Array | string): Bytes => {
  const bytes = typeof content === 'string' ? [...Buffer.from(content)] : [...content]
  return [...tag(field, 2), ...varint(BigInt(bytes.length)), ...bytes]
}
const vi = (field: number, value: bigint): Bytes => [...tag(field, 0), ...varint(value)]
const f64 = (field: number, value: bigint): Bytes => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt.asUintN(64, value))
  return [...tag(field, 1), ...b]
}
const f32 = (field: number, value: number): Bytes => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(value >>> 0)
  return [...tag(field, 5), ...b]
}
const dbl = (field: number, value: number): Bytes => {
  const b = Buffer.alloc(8)
  b.writeDoubleLE(value)
  return [...tag(field, 1), ...b]
}

/** Unknown fields of every wire type: varint, fixed64, packed varints, a group, fixed32. */
const unknownFields = fc.array(
  fc.oneof(
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => vi(1000, v)),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => f64(1001, v)),
    fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 4 }).map((xs) =>
      ld(
        1002,
        xs.flatMap((x) => varint(BigInt(x))),
      ),
    ),
    fc.integer().map((v) => [...tag(1003, 3), ...vi(1, BigInt(v)), ...tag(1003, 4)]),
    fc.integer().map((v) => f32(1004, v)),
  ),
  { maxLength: 2 },
)
const withUnknown = (fields: fc.Arbitrary<Bytes[]>) =>
  fc.tuple(fields, unknownFields).map(([known, unknown]) => {
    // Unknown fields go between the known ones.
    const all = [...known]
    unknown.forEach((u, i) => {
      all.splice(i % (all.length + 1), 0, u)
    })
    return all.flat()
  })

const text = fc.oneof(fc.string({ maxLength: 9 }), fc.string({ unit: 'grapheme', maxLength: 9 }))
const anyValue: fc.Arbitrary<Bytes> = fc.letrec<{ value: Bytes }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text.map((s) => ld(1, s)),
    fc.boolean().map((b) => vi(2, b ? 1n : 0n)),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => vi(3, v)),
    fc.double().map((v) => dbl(4, v)),
    fc.uint8Array({ maxLength: 9 }).map((b) => ld(7, b)),
    fc.array(tie('value'), { maxLength: 3 }).map((items) =>
      ld(
        5,
        items.flatMap((i) => ld(1, i)),
      ),
    ),
    fc.array(fc.tuple(text, tie('value')), { maxLength: 3 }).map((entries) =>
      ld(
        6,
        entries.flatMap(([k, v]) => ld(1, [...ld(1, k), ...ld(2, v)])),
      ),
    ),
    // Two oneof cases: the last wins.
    fc.tuple(text, fc.boolean()).map(([s, b]) => [...ld(1, s), ...vi(2, b ? 1n : 0n)]),
  ),
})).value
const keyValue = (
  field: number,
  keys: fc.Arbitrary<string> = fc.constantFrom('a', 'b', 'gen_ai.system', 'é'),
) =>
  withUnknown(
    fc.tuple(
      keys.map((k) => ld(1, k)),
      anyValue.map((v) => ld(2, v)),
    ),
  ).map((kv) => ld(field, kv))

const traceIds = [
  Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'),
  Buffer.from('00000000000000000000000000000001', 'hex'),
  Buffer.from('ffeeddccbbaa99887766554433221100', 'hex'),
]
const traceId = fc.oneof(
  { arbitrary: fc.constantFrom(...traceIds), weight: 8 },
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.constantFrom(new Uint8Array(16), new Uint8Array(15), new Uint8Array(0)),
)
const spanId = fc.oneof(
  { arbitrary: fc.uint8Array({ minLength: 8, maxLength: 8 }), weight: 8 },
  fc.constantFrom(new Uint8Array(8), new Uint8Array(7)),
)
const parentId = fc.oneof(
  fc.constant(undefined),
  fc.uint8Array({ minLength: 8, maxLength: 8 }),
  fc.constantFrom(new Uint8Array(8), new Uint8Array(3)),
)
const time = fc.oneof(
  { arbitrary: fc.bigInt({ min: NOW_NS - 50_000_000_000n, max: NOW_NS + 50_000_000_000n }), weight: 8 },
  fc.constantFrom(0n, 1n, 2n ** 63n, 2n ** 64n - 1n, NOW_NS - 120_000_000_000n),
)
const event = withUnknown(
  fc.tuple(
    time.map((t) => f64(1, t)),
    text.map((s) => ld(2, s)),
    fc.array(keyValue(3), { maxLength: 3 }).map((kvs) => kvs.flat()),
    fc.nat(5).map((n) => vi(4, BigInt(n))),
  ),
).map((e) => ld(11, e))
const link = withUnknown(
  fc.tuple(
    traceId.map((b) => ld(1, b)),
    spanId.map((b) => ld(2, b)),
    text.map((s) => ld(3, s)),
    fc.array(keyValue(4), { maxLength: 3 }).map((kvs) => kvs.flat()),
    fc.nat().map((n) => f32(6, n)),
  ),
).map((l) => ld(13, l))
const span = withUnknown(
  fc.tuple(
    traceId.map((b) => ld(1, b)),
    spanId.map((b) => ld(2, b)),
    text.map((s) => ld(3, s)),
    parentId.map((b) => (b === undefined ? [] : ld(4, b))),
    text.map((s) => ld(5, s)),
    fc.integer({ min: -1, max: 7 }).map((k) => vi(6, BigInt(k))),
    time.map((t) => f64(7, t)),
    time.map((t) => f64(8, t)),
    fc.array(keyValue(9), { maxLength: 6 }).map((kvs) => kvs.flat()),
    fc.array(event, { maxLength: 3 }).map((es) => es.flat()),
    fc.array(link, { maxLength: 3 }).map((ls) => ls.flat()),
    fc
      .tuple(text, fc.integer({ min: 0, max: 3 }))
      .map(([m, c]) => ld(15, [...ld(2, m), ...vi(3, BigInt(c))])),
    fc.nat().map((n) => f32(16, n)),
  ),
).map((s) => ld(2, s))
const scope = withUnknown(
  fc.tuple(
    text.map((s) => ld(1, s)),
    text.map((s) => ld(2, s)),
    fc.array(keyValue(3), { maxLength: 2 }).map((kvs) => kvs.flat()),
  ),
)
const scopeSpans = withUnknown(
  fc.tuple(
    // A scope field repeated merges into one.
    fc.array(scope, { maxLength: 2 }).map((parts) => parts.flatMap((p) => ld(1, p))),
    fc.array(span, { maxLength: 4 }).map((ss) => ss.flat()),
    fc.option(text).map((s) => (s === null ? [] : ld(3, s))),
  ),
).map((s) => ld(2, s))
const resourceAttribute = fc.oneof(
  keyValue(1, fc.constantFrom('service.name', 'host', 'a')),
  // A client-sent stamp, for another application: it must be dropped.
  fc
    .constantFrom(OTHER_APP, '')
    .map((id) => ld(1, [...ld(1, 'spansift.application.id'), ...ld(2, ld(1, id))])),
)
const resource = withUnknown(
  fc.tuple(
    fc.array(resourceAttribute, { maxLength: 4 }).map((kvs) => kvs.flat()),
    fc.nat(3).map((n) => vi(2, BigInt(n))),
  ),
)
const resourceSpans = withUnknown(
  fc.tuple(
    fc.array(resource, { maxLength: 2 }).map((parts) => parts.flatMap((p) => ld(1, p))),
    fc.array(scopeSpans, { maxLength: 3 }).map((ss) => ss.flat()),
  ),
).map((r) => ld(1, r))
const request = withUnknown(fc.array(resourceSpans, { maxLength: 3 })).map((bytes) => new Uint8Array(bytes))

/**
 * The spans the receiver's decode path accepts, by trace: decode and normalize. (The old
 * Kafka path then re-encoded them per trace; that round trip turned an integer-valued
 * double of 2^53 or more into an int, so the comparison is with the spans before it. The
 * test below compares with the round trip where it is exact.)
 */
function currentPath(bytes: Uint8Array, limits: SpanLimits) {
  const decoded = normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(bytes), {
    applicationId: APP,
    limits,
    nowMs: NOW_MS,
  })
  const traces = new Map<string, Span[]>()
  for (const s of decoded.spans) traces.set(s.traceId, [...(traces.get(s.traceId) ?? []), s])
  return { ...decoded, traces }
}

/** The old Kafka path for one trace: spans re-encoded (spansToExportRequest), decoded, normalized. */
function reencoded(spans: Span[]): Span[] {
  const wire = encodeExportTraceRequestProtobuf(spansToExportRequest(spans))
  return normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(wire)).spans
}

/** Spans in a canonical order (the current path regroups spans by resource and scope). */
function sorted(spans: Span[]): Span[] {
  return [...spans].sort((a, b) => (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0))
}

function assertSameAsCurrentPath(bytes: Uint8Array, limits: SpanLimits) {
  let expected: ReturnType<typeof currentPath>
  try {
    expected = currentPath(bytes, limits)
  } catch (error) {
    assert.ok(error instanceof OtlpDecodeError)
    assert.throws(
      () => splitExportTraceRequestByTrace(bytes, { applicationId: APP, limits }),
      OtlpDecodeError,
    )
    return
  }
  const split = splitExportTraceRequestByTrace(bytes, { applicationId: APP, limits, nowMs: NOW_MS })
  assert.equal(split.rejectedSpans, expected.rejectedSpans)
  assert.equal(split.rejectionMessage, expected.rejectionMessage)
  assert.equal(split.acceptedSpans, expected.spans.length)
  assert.deepEqual(
    split.traces.map((t) => t.traceId),
    [...expected.traces.keys()],
  )
  for (const trace of split.traces) {
    const result = normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(trace.value))
    assert.equal(result.rejectedSpans, 0, result.rejectionMessage)
    assert.equal(trace.spans, result.spans.length)
    assert.deepEqual(sorted(result.spans), sorted(expected.traces.get(trace.traceId)!))
  }
}

describe('splitExportTraceRequestByTrace', () => {
  it('gives, per trace, the spans decode + normalize gives, with the same rejections (property)', () => {
    fc.assert(
      fc.property(request, (bytes) => assertSameAsCurrentPath(bytes, LIMITS)),
      { numRuns: 400 },
    )
  })

  it('refuses what the decoder refuses: truncations and corruptions of valid requests (property)', () => {
    fc.assert(
      fc.property(request, fc.nat(), fc.nat(255), (bytes, at, byte) => {
        if (bytes.length === 0) return
        const cut = bytes.slice(0, at % bytes.length)
        assertSameAsCurrentPath(cut, LIMITS)
        const flipped = bytes.slice()
        flipped[at % bytes.length] = byte
        assertSameAsCurrentPath(flipped, LIMITS)
      }),
      { numRuns: 400 },
    )
  })

  it('splits a big export of GenAI spans (1,000 spans, 20 traces) with the default limits', () => {
    const now = BigInt(Date.now()) * 1_000_000n
    const spans = Array.from({ length: 1000 }, (_, i) => {
      const traceId = Buffer.alloc(16, 0)
      traceId.writeUInt32BE(1 + (i % 20), 12)
      const spanId = Buffer.alloc(8, 0)
      spanId.writeUInt32BE(i + 1, 4)
      return genAiSpan({
        traceId,
        spanId,
        startTimeUnixNano: now - 2_000_000_000n,
        endTimeUnixNano: now - 1_000_000_000n,
      })
    })
    const bytes = encodeExportTraceRequestProtobuf(genAiRequest(spans))
    const split = splitExportTraceRequestByTrace(bytes, { applicationId: APP, limits: DEFAULT_SPAN_LIMITS })
    assert.equal(split.traces.length, 20)
    assert.equal(split.acceptedSpans, 1000)
    assert.equal(split.rejectedSpans, 0)
    assertSameAsCurrentPathNow(bytes)
  })

  it('refuses AnyValues nested past the decoder limit, and takes them up to it', () => {
    for (const depth of [64, 65]) {
      let value: Bytes = ld(1, 'deep')
      for (let i = 0; i < depth; i++) value = ld(5, ld(1, value))
      const attribute = ld(9, [...ld(1, 'a'), ...ld(2, value)])
      const bytes = new Uint8Array(
        ld(
          1,
          ld(
            2,
            ld(2, [
              ...ld(1, traceIds[0]!),
              ...ld(2, [1, 2, 3, 4, 5, 6, 7, 8]),
              ...f64(7, NOW_NS),
              ...f64(8, NOW_NS),
              ...attribute,
            ]),
          ),
        ),
      )
      assertSameAsCurrentPath(bytes, LIMITS)
      if (depth === 65)
        assert.throws(
          () => splitExportTraceRequestByTrace(bytes, { applicationId: APP, limits: LIMITS }),
          OtlpDecodeError,
        )
    }
  })

  it('stamps the sending application and drops a client-sent stamp', () => {
    const bytes = new Uint8Array(
      ld(1, [
        ...ld(1, [
          ...ld(1, [...ld(1, 'spansift.application.id'), ...ld(2, ld(1, OTHER_APP))]),
          ...ld(1, [...ld(1, 'service.name'), ...ld(2, ld(1, 'bot'))]),
        ]),
        ...ld(
          2,
          ld(2, [
            ...ld(1, traceIds[0]!),
            ...ld(2, [1, 2, 3, 4, 5, 6, 7, 8]),
            ...f64(7, NOW_NS),
            ...f64(8, NOW_NS),
          ]),
        ),
      ]),
    )
    const split = splitExportTraceRequestByTrace(bytes, { applicationId: APP, limits: LIMITS, nowMs: NOW_MS })
    const decoded = decodeExportTraceRequestProtobuf(split.traces[0]!.value)
    const stamps = decoded.resourceSpans[0]!.resource.attributes.filter(
      (a) => a.key === 'spansift.application.id',
    )
    assert.deepEqual(stamps, [{ key: 'spansift.application.id', value: { type: 'string', value: APP } }])
    assert.equal(normalizeExportTraceRequest(decoded).spans[0]!.resourceAttributes['service.name'], 'bot')
  })
})

function assertSameAsCurrentPathNow(bytes: Uint8Array) {
  const nowMs = Date.now()
  const expected = normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(bytes), {
    applicationId: APP,
    limits: DEFAULT_SPAN_LIMITS,
    nowMs,
  })
  const split = splitExportTraceRequestByTrace(bytes, {
    applicationId: APP,
    limits: DEFAULT_SPAN_LIMITS,
    nowMs,
  })
  const got = split.traces.flatMap(
    (t) => normalizeExportTraceRequest(decodeExportTraceRequestProtobuf(t.value)).spans,
  )
  assert.deepEqual(sorted(got), sorted(expected.spans))
  // And the same as the old path's Kafka records, decoded.
  assert.deepEqual(sorted(got), sorted(reencoded(expected.spans)))
}
