import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OtlpDecodeError } from './decode-error.ts'
import { decodeExportTraceRequestProtobuf } from './decode-protobuf.ts'
import { encodeExportTraceRequestProtobuf } from './encode-protobuf.ts'
import { bytesToHex } from './hex.ts'
import { BEYOND_SAFE, genAiRequest, genAiSpan, hex, str } from './test-fixtures.ts'
import { ExportTraceServiceRequestType } from './test-proto-schema.ts'

/** protobufjs's own decoding of our bytes, as plain objects with 64-bit values as strings. */
function decodeWithProtobufjs(bytes: Uint8Array) {
  const message = ExportTraceServiceRequestType.decode(bytes)
  return ExportTraceServiceRequestType.toObject(message, { longs: String, bytes: String, defaults: false })
}

/** Deterministic pseudo-random bytes (xorshift32), so the malformed-input cases never flake. */
function pseudoRandomBytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

describe('protobuf codec', () => {
  it('round-trips a GenAI span with every AnyValue kind, events, links and int64 beyond 2^53', () => {
    const request = genAiRequest()
    const bytes = encodeExportTraceRequestProtobuf(request)
    assert.deepEqual(decodeExportTraceRequestProtobuf(bytes), request)
  })

  it('writes what protobufjs, loading the .proto files, reads field for field', () => {
    const decoded = decodeWithProtobufjs(encodeExportTraceRequestProtobuf(genAiRequest()))
    const resourceSpans = decoded.resourceSpans[0]
    assert.equal(resourceSpans.schemaUrl, 'https://opentelemetry.io/schemas/1.26.0')
    assert.equal(resourceSpans.resource.droppedAttributesCount, 1)
    assert.deepEqual(resourceSpans.resource.entityRefs[0].idKeys, ['service.name'])
    const scopeSpans = resourceSpans.scopeSpans[0]
    assert.equal(scopeSpans.scope.name, 'opentelemetry.instrumentation.openai')
    const span = scopeSpans.spans[0]
    assert.equal(Buffer.from(span.traceId, 'base64').toString('hex'), '5b8efff798038103d269b633813fc60c')
    assert.equal(span.flags, 0x301)
    assert.equal(span.kind, 3)
    assert.equal(span.startTimeUnixNano, '1763805600123456789')
    assert.equal(span.endTimeUnixNano, '1763805601987654321')
    assert.equal(span.status.code, 2)
    assert.equal(span.droppedLinksCount, 4)
    assert.equal(span.links[0].flags, 1)
    assert.equal(span.events[0].timeUnixNano, '1763805600500000000')
    const attribute = (key: string) => span.attributes.find((a: { key: string }) => a.key === key).value
    assert.equal(attribute('big.positive').intValue, BEYOND_SAFE.toString())
    assert.equal(attribute('big.negative').intValue, (-BEYOND_SAFE).toString())
    assert.equal(attribute('int64.min').intValue, '-9223372036854775808')
    assert.equal(attribute('negative.small').intValue, '-3')
    assert.equal(attribute('zero').intValue, '0')
    assert.equal(attribute('gen_ai.request.temperature').doubleValue, 0.7)
    assert.equal(attribute('gen_ai.prompt').stringValue, genAiSpan().attributes[8]!.value.value)
    assert.equal(attribute('raw').bytesValue, Buffer.from([0, 1, 2, 253, 254, 255]).toString('base64'))
    assert.deepEqual(attribute('nested').arrayValue.values[2].arrayValue.values[1].kvlistValue.values[0], {
      key: 'deep',
      value: { doubleValue: -0.5 },
    })
  })

  it('reads what protobufjs writes, and re-encodes it to the same bytes', () => {
    const request = genAiRequest()
    const viaProtobufjs = ExportTraceServiceRequestType.encode(
      ExportTraceServiceRequestType.fromObject(
        decodeWithProtobufjs(encodeExportTraceRequestProtobuf(request)),
      ),
    ).finish()
    const decoded = decodeExportTraceRequestProtobuf(viaProtobufjs)
    assert.deepEqual(decoded, request)
    assert.deepEqual(encodeExportTraceRequestProtobuf(decoded), new Uint8Array(viaProtobufjs))
  })

  it('decodes protobufjs messages built field by field, with Long times', () => {
    const message = ExportTraceServiceRequestType.fromObject({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: hex('0102030405060708090a0b0c0d0e0f10'),
                  spanId: hex('0102030405060708'),
                  name: 'x',
                  startTimeUnixNano: { low: 1, high: 0x80000000, unsigned: true },
                  attributes: [{ key: 'n', value: { intValue: '-9223372036854775807' } }],
                },
              ],
            },
          ],
        },
      ],
    })
    const decoded = decodeExportTraceRequestProtobuf(ExportTraceServiceRequestType.encode(message).finish())
    const span = decoded.resourceSpans[0]!.scopeSpans[0]!.spans[0]!
    assert.equal(bytesToHex(span.traceId), '0102030405060708090a0b0c0d0e0f10')
    assert.equal(span.startTimeUnixNano, 0x8000000000000001n)
    assert.deepEqual(span.attributes[0]!.value, { type: 'int', value: -9223372036854775807n })
    // Absent messages decode to their defaults, never undefined.
    assert.deepEqual(decoded.resourceSpans[0]!.resource, {
      attributes: [],
      droppedAttributesCount: 0,
      entityRefs: [],
    })
    assert.equal(decoded.resourceSpans[0]!.scopeSpans[0]!.scope.name, '')
    assert.deepEqual(span.status, { message: '', code: 0 })
  })

  it('decodes an empty body as an empty request', () => {
    assert.deepEqual(decodeExportTraceRequestProtobuf(new Uint8Array(0)), { resourceSpans: [] })
  })

  it('accepts a Buffer and copies ids out of it', () => {
    const bytes = Buffer.from(encodeExportTraceRequestProtobuf(genAiRequest()))
    const decoded = decodeExportTraceRequestProtobuf(bytes)
    bytes.fill(0)
    assert.equal(
      bytesToHex(decoded.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId),
      '5b8efff798038103d269b633813fc60c',
    )
  })

  it('skips unknown fields of every wire type, including groups', () => {
    const known = encodeExportTraceRequestProtobuf(genAiRequest([genAiSpan({ attributes: [str('k', 'v')] })]))
    const unknown = new Uint8Array([
      0xf8,
      0x07,
      0x96,
      0x01, // field 127 varint 150
      0xf9,
      0x07,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8, // field 127 fixed64
      0xfa,
      0x07,
      0x02,
      0xaa,
      0xbb, // field 127 length-delimited
      0xfd,
      0x07,
      1,
      2,
      3,
      4, // field 127 fixed32
      0xfb,
      0x07,
      0x08,
      0x01,
      0xfc,
      0x07, // field 127 group holding field 1 varint
    ])
    const decoded = decodeExportTraceRequestProtobuf(new Uint8Array([...unknown, ...known, ...unknown]))
    assert.deepEqual(decoded, decodeExportTraceRequestProtobuf(known))
  })

  it('merges a repeated singular message field, as proto3 requires', () => {
    // resource_spans { resource { attributes {k=a} } resource { dropped_attributes_count: 7 } }
    const resourceSpans = new Uint8Array([
      0x0a, 0x0a, 0x0a, 0x08, 0x0a, 0x01, 0x6b, 0x12, 0x03, 0x0a, 0x01, 0x61, 0x0a, 0x02, 0x10, 0x07,
    ])
    const bytes = new Uint8Array([0x0a, resourceSpans.length, ...resourceSpans])
    const resource = decodeExportTraceRequestProtobuf(bytes).resourceSpans[0]!.resource
    assert.deepEqual(resource.attributes, [str('k', 'a')])
    assert.equal(resource.droppedAttributesCount, 7)
  })

  it('encodes empty arrays and kvlists so they stay arrays and kvlists', () => {
    const request = genAiRequest([
      genAiSpan({
        attributes: [
          { key: 'a', value: { type: 'array', value: [] } },
          { key: 'k', value: { type: 'kvlist', value: [] } },
        ],
      }),
    ])
    assert.deepEqual(decodeExportTraceRequestProtobuf(encodeExportTraceRequestProtobuf(request)), request)
  })

  it('encodes large requests (nested lengths over several varint bytes)', () => {
    const long = 'x'.repeat(300_000)
    const spans = Array.from({ length: 50 }, (_, i) =>
      genAiSpan({ name: `span ${i}`, attributes: [str('gen_ai.prompt', long.slice(i))] }),
    )
    const request = genAiRequest(spans)
    const bytes = encodeExportTraceRequestProtobuf(request)
    assert.ok(bytes.length > 15_000_000)
    assert.deepEqual(decodeExportTraceRequestProtobuf(bytes), request)
    assert.equal(decodeWithProtobufjs(bytes).resourceSpans[0].scopeSpans[0].spans.length, 50)
  })

  it('decodes thousands of distinct keys and values right through the repeat-string cache', () => {
    // More distinct strings than cache slots, of equal lengths, so slots collide and get replaced.
    const attributes = Array.from({ length: 10_000 }, (_, i) =>
      str(`key.${String(i).padStart(5, '0')}`, `v${i}-é`),
    )
    const request = genAiRequest([genAiSpan({ attributes })])
    for (let pass = 0; pass < 2; pass++) {
      assert.deepEqual(decodeExportTraceRequestProtobuf(encodeExportTraceRequestProtobuf(request)), request)
    }
  })

  it('decodes invalid UTF-8 leniently, as U+FFFD', () => {
    // KeyValue{key: "k", value: {string_value: 0x61 0xff 0x62}} in a span in a request.
    const keyValue = [0x0a, 0x01, 0x6b, 0x12, 0x05, 0x0a, 0x03, 0x61, 0xff, 0x62]
    const span = [0x4a, keyValue.length, ...keyValue]
    const scopeSpans = [0x12, span.length, ...span]
    const resourceSpans = [0x12, scopeSpans.length, ...scopeSpans]
    const decoded = decodeExportTraceRequestProtobuf(
      new Uint8Array([0x0a, resourceSpans.length, ...resourceSpans]),
    )
    assert.deepEqual(decoded.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes, [str('k', 'a\ufffdb')])
  })

  describe('malformed input', () => {
    const valid = encodeExportTraceRequestProtobuf(genAiRequest())

    it('rejects random bytes', () => {
      for (let seed = 1; seed <= 200; seed++) {
        const bytes = pseudoRandomBytes(seed, 64 + seed)
        assert.throws(() => decodeExportTraceRequestProtobuf(bytes), OtlpDecodeError, `seed ${seed}`)
      }
    })

    it('rejects every truncation of a valid message', () => {
      for (let length = 1; length < valid.length; length++) {
        const truncated = valid.subarray(0, length)
        assert.throws(() => decodeExportTraceRequestProtobuf(truncated), OtlpDecodeError, `length ${length}`)
      }
    })

    it('names the problem and the offset', () => {
      assert.throws(() => decodeExportTraceRequestProtobuf(new Uint8Array([0x0a, 0x05, 0x0a])), {
        name: 'OtlpDecodeError',
        message: /^malformed protobuf: length 5 runs past the end of its message at offset 2$/,
      })
      assert.throws(() => decodeExportTraceRequestProtobuf(new Uint8Array([0x0f])), {
        message: /unexpected wire type 7 for field 1/,
      })
      assert.throws(() => decodeExportTraceRequestProtobuf(new Uint8Array([0x00])), {
        message: /field number 0/,
      })
      assert.throws(() => decodeExportTraceRequestProtobuf(new Uint8Array([0x08, 0xff, 0xff])), {
        message: /truncated varint/,
      })
      assert.throws(
        () => decodeExportTraceRequestProtobuf(new Uint8Array([0x08, ...new Array(11).fill(0xff)])),
        {
          message: /varint longer than 10 bytes/,
        },
      )
      assert.throws(() => decodeExportTraceRequestProtobuf(new Uint8Array([0x0b, 0x08, 0x01])), {
        message: /unterminated group/,
      })
    })

    it('is a bad_request error, so the receiver answers 400', () => {
      const error = (() => {
        try {
          decodeExportTraceRequestProtobuf(new Uint8Array([0xff]))
        } catch (e) {
          return e
        }
      })()
      assert.ok(error instanceof OtlpDecodeError)
      assert.equal(error.code, 'bad_request')
      assert.equal(error.retryable, false)
    })

    it('rejects AnyValue nested too deeply instead of overflowing the stack', () => {
      // AnyValue{array_value: ArrayValue{values: AnyValue{...}}}, 100 levels deep, built inside out.
      let inner = new Uint8Array(0)
      for (let i = 0; i < 100; i++) {
        const array = new Uint8Array([0x0a, ...varint(inner.length), ...inner]) // ArrayValue.values
        inner = new Uint8Array([0x2a, ...varint(array.length), ...array]) // AnyValue.array_value
      }
      const keyValue = new Uint8Array([0x0a, 0x01, 0x6b, 0x12, ...varint(inner.length), ...inner])
      const span = new Uint8Array([0x4a, ...varint(keyValue.length), ...keyValue])
      const scopeSpans = new Uint8Array([0x12, ...varint(span.length), ...span])
      const resourceSpans = new Uint8Array([0x12, ...varint(scopeSpans.length), ...scopeSpans])
      const request = new Uint8Array([0x0a, ...varint(resourceSpans.length), ...resourceSpans])
      assert.throws(() => decodeExportTraceRequestProtobuf(request), {
        name: 'OtlpDecodeError',
        message: /nested deeper/,
      })
    })
  })
})

function varint(value: number): number[] {
  const out: number[] = []
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80)
    value >>>= 7
  }
  out.push(value)
  return out
}
