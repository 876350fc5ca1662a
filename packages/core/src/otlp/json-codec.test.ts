import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OtlpDecodeError } from './decode-error.ts'
import { decodeExportTraceRequestJson } from './decode-json.ts'
import { decodeExportTraceRequestProtobuf } from './decode-protobuf.ts'
import { encodeExportTraceRequestJson } from './encode-json.ts'
import { encodeExportTraceRequestProtobuf } from './encode-protobuf.ts'
import { bytesToHex } from './hex.ts'
import type { OtlpSpan } from './otlp-types.ts'
import { genAiRequest } from './test-fixtures.ts'

/** The only span of a one-span OTLP/JSON request. */
function onlySpan(json: unknown): OtlpSpan {
  const request = decodeExportTraceRequestJson(JSON.stringify(json))
  return request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!
}

/** A one-span request around `span`. */
function wrap(span: Record<string, unknown>): unknown {
  return {
    resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 's' }, spans: [span] }] }],
  }
}

const ids = { traceId: '5B8EFFF798038103D269B633813FC60C', spanId: 'eee19b7ec3c1b174' }

describe('OTLP/JSON decoding', () => {
  it('round-trips the GenAI request through OTLP/JSON, equal to the protobuf decoding', () => {
    const request = genAiRequest()
    const fromJson = decodeExportTraceRequestJson(encodeExportTraceRequestJson(request))
    assert.deepEqual(fromJson, request)
    assert.deepEqual(fromJson, decodeExportTraceRequestProtobuf(encodeExportTraceRequestProtobuf(request)))
  })

  it('replaces lone surrogates (only an escape can make one) with U+FFFD; escaped pairs stay', () => {
    // Built by hand: JSON.stringify would escape the lone surrogate the same way, but the
    // test must show the exact text an exporter sends.
    const text = JSON.stringify(
      wrap({ ...ids, name: 'NAME', attributes: [{ key: 'k', value: { stringValue: 'VALUE' } }] }),
    )
      .replace('NAME', 'chat \\ud83d\\ude00')
      .replace('VALUE', 'half \\ud800 pair')
    const span = decodeExportTraceRequestJson(text).resourceSpans[0]!.scopeSpans[0]!.spans[0]!
    assert.equal(span.name, 'chat 😀')
    assert.deepEqual(span.attributes[0]!.value, { type: 'string', value: 'half \ufffd pair' })
  })

  it('reads trace and span ids as hex, in either case (not base64)', () => {
    const span = onlySpan(wrap({ ...ids, parentSpanId: '' }))
    assert.equal(bytesToHex(span.traceId), '5b8efff798038103d269b633813fc60c')
    assert.equal(span.traceId.length, 16)
    assert.equal(bytesToHex(span.spanId), 'eee19b7ec3c1b174')
    assert.equal(span.parentSpanId.length, 0)
  })

  it('reads 64-bit integers as decimal strings or as numbers', () => {
    const span = onlySpan(
      wrap({
        ...ids,
        startTimeUnixNano: '1763805600123456789',
        endTimeUnixNano: 1763805601000000000,
        attributes: [
          { key: 's', value: { intValue: '9007199254740993' } },
          { key: 'n', value: { intValue: 42 } },
          { key: 'neg', value: { intValue: '-9223372036854775808' } },
        ],
      }),
    )
    assert.equal(span.startTimeUnixNano, 1763805600123456789n)
    assert.equal(span.endTimeUnixNano, 1763805601000000000n)
    assert.deepEqual(
      span.attributes.map((a) => a.value),
      [
        { type: 'int', value: 9007199254740993n },
        { type: 'int', value: 42n },
        { type: 'int', value: -9223372036854775808n },
      ],
    )
  })

  it('reads enums as integers, and tolerates their names', () => {
    assert.equal(onlySpan(wrap({ ...ids, kind: 2, status: { code: 2 } })).kind, 2)
    const named = onlySpan(
      wrap({ ...ids, kind: 'SPAN_KIND_CONSUMER', status: { code: 'STATUS_CODE_ERROR', message: 'boom' } }),
    )
    assert.equal(named.kind, 5)
    assert.deepEqual(named.status, { code: 2, message: 'boom' })
    // OTLP enums are open: an unknown number is kept for normalization to interpret.
    assert.equal(onlySpan(wrap({ ...ids, kind: 9 })).kind, 9)
  })

  it('tolerates the original snake_case field names', () => {
    const json = {
      resource_spans: [
        {
          resource: {
            attributes: [{ key: 'service.name', value: { string_value: 'svc' } }],
            dropped_attributes_count: 1,
          },
          schema_url: 'r',
          scope_spans: [
            {
              scope: { name: 'lib' },
              schema_url: 's',
              spans: [
                {
                  trace_id: ids.traceId,
                  span_id: ids.spanId,
                  parent_span_id: 'eee19b7ec3c1b173',
                  trace_state: 'a=b',
                  start_time_unix_nano: '1',
                  end_time_unix_nano: '2',
                  dropped_attributes_count: 3,
                  events: [{ time_unix_nano: '5', name: 'e' }],
                  links: [{ trace_id: ids.traceId, span_id: ids.spanId, trace_state: 'c=d' }],
                  attributes: [
                    { key: 'b', value: { bool_value: true } },
                    { key: 'd', value: { double_value: 1.5 } },
                    { key: 'a', value: { array_value: { values: [{ int_value: '7' }] } } },
                    {
                      key: 'k',
                      value: { kvlist_value: { values: [{ key: 'x', value: { bytes_value: 'AAE=' } }] } },
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    }
    const request = decodeExportTraceRequestJson(JSON.stringify(json))
    const resourceSpans = request.resourceSpans[0]!
    assert.equal(resourceSpans.schemaUrl, 'r')
    assert.equal(resourceSpans.resource.droppedAttributesCount, 1)
    assert.deepEqual(resourceSpans.resource.attributes[0]!.value, { type: 'string', value: 'svc' })
    const span = resourceSpans.scopeSpans[0]!.spans[0]!
    assert.equal(bytesToHex(span.parentSpanId), 'eee19b7ec3c1b173')
    assert.equal(span.traceState, 'a=b')
    assert.equal(span.endTimeUnixNano, 2n)
    assert.equal(span.events[0]!.timeUnixNano, 5n)
    assert.equal(span.links[0]!.traceState, 'c=d')
    assert.deepEqual(
      span.attributes.map((a) => a.value),
      [
        { type: 'bool', value: true },
        { type: 'double', value: 1.5 },
        { type: 'array', value: [{ type: 'int', value: 7n }] },
        { type: 'kvlist', value: [{ key: 'x', value: { type: 'bytes', value: new Uint8Array([0, 1]) } }] },
      ],
    )
  })

  it('ignores unknown fields and treats null as the default', () => {
    const span = onlySpan({
      resourceSpans: [
        {
          futureField: { anything: [1, 2] },
          resource: null,
          scopeSpans: [
            { scope: null, spans: [{ ...ids, name: null, shinyNewField: 'x', status: { future: 1 } }] },
          ],
        },
      ],
      somethingElse: true,
    })
    assert.equal(span.name, '')
    assert.deepEqual(span.status, { message: '', code: 0 })
  })

  it('reads the doubles JSON cannot spell, and base64 in both alphabets', () => {
    const span = onlySpan(
      wrap({
        ...ids,
        attributes: [
          { key: 'nan', value: { doubleValue: 'NaN' } },
          { key: 'inf', value: { doubleValue: '-Infinity' } },
          { key: 'url', value: { bytesValue: '-_8' } },
          { key: 'empty', value: {} },
        ],
      }),
    )
    const values = span.attributes.map((a) => a.value)
    assert.ok(Number.isNaN(values[0]!.value))
    assert.equal(values[1]!.value, Number.NEGATIVE_INFINITY)
    assert.deepEqual(values[2], { type: 'bytes', value: new Uint8Array([0xfb, 0xff]) })
    assert.deepEqual(values[3], { type: 'empty', value: null })
  })

  it('accepts an empty request', () => {
    assert.deepEqual(decodeExportTraceRequestJson('{}'), { resourceSpans: [] })
  })

  describe('errors', () => {
    it('rejects malformed JSON', () => {
      for (const text of ['', '{', '{"resourceSpans": [}', 'nul', '{"a":1,}']) {
        assert.throws(() => decodeExportTraceRequestJson(text), {
          name: 'OtlpDecodeError',
          message: /^malformed JSON: /,
        })
      }
    })

    it('rejects JSON of the wrong shape, naming the path', () => {
      const cases: Array<[unknown, RegExp]> = [
        [[], /request: expected a JSON object \(ExportTraceServiceRequest\)$/],
        ['text', /expected a JSON object/],
        [{ resourceSpans: [5] }, /at resourceSpans\[0\]: expected a JSON object \(ResourceSpans\)$/],
        [{ resourceSpans: {} }, /at resourceSpans: expected an array$/],
        [{ resourceSpans: [{ scopeSpans: 'x' }] }, /at resourceSpans\[0\]\.scopeSpans: expected an array$/],
        [
          wrap({ traceId: 'zz' }),
          /at resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected a hex string/,
        ],
        [wrap({ spanId: 'abc' }), /\.spanId: expected a hex string/],
        [wrap({ traceId: 12 }), /\.traceId: expected a hex string$/],
        [wrap({ startTimeUnixNano: '12a' }), /\.startTimeUnixNano: expected an unsigned 64-bit integer/],
        [
          wrap({ startTimeUnixNano: '-1' }),
          /\.startTimeUnixNano: expected an unsigned 64-bit integer in range/,
        ],
        [wrap({ endTimeUnixNano: 1.5 }), /\.endTimeUnixNano: expected an unsigned 64-bit integer/],
        [wrap({ kind: 'SPAN_KIND_SIDEWAYS' }), /\.kind: unknown enum value "SPAN_KIND_SIDEWAYS"/],
        [wrap({ kind: 1.5 }), /\.kind: expected an enum integer or name/],
        [wrap({ name: 5 }), /\.name: expected a string/],
        [
          wrap({ attributes: [{ key: 'k', value: { intValue: '0x10' } }] }),
          /attributes\[0\]\.value\.intValue: expected a 64-bit/,
        ],
        [
          wrap({ attributes: [{ key: 'k', value: { intValue: '9223372036854775808' } }] }),
          /\.intValue: expected a 64-bit integer in range/,
        ],
        [
          wrap({ attributes: [{ key: 'k', value: { boolValue: 'true' } }] }),
          /\.boolValue: expected true or false/,
        ],
        [
          wrap({ attributes: [{ key: 'k', value: { bytesValue: 'not base64!' } }] }),
          /\.bytesValue: expected a base64/,
        ],
        [
          wrap({ attributes: [{ key: 'k', value: { arrayValue: { values: [{ intValue: 'x' }] } } }] }),
          /attributes\[0\]\.value\.arrayValue\.values\[0\]\.intValue: expected a 64-bit/,
        ],
        [wrap({ flags: -1 }), /\.flags: expected a uint32/],
        [wrap({ events: [{ timeUnixNano: true }] }), /\.events\[0\]\.timeUnixNano: expected an unsigned/],
      ]
      for (const [json, message] of cases) {
        assert.throws(
          () => decodeExportTraceRequestJson(JSON.stringify(json)),
          OtlpDecodeError,
          JSON.stringify(json),
        )
        assert.throws(
          () => decodeExportTraceRequestJson(JSON.stringify(json)),
          { message },
          JSON.stringify(json),
        )
      }
    })

    it('rejects AnyValue nested too deeply', () => {
      let value: unknown = { stringValue: 'leaf' }
      for (let i = 0; i < 100; i++) value = { arrayValue: { values: [value] } }
      assert.throws(
        () => decodeExportTraceRequestJson(JSON.stringify(wrap({ attributes: [{ key: 'k', value }] }))),
        {
          name: 'OtlpDecodeError',
          message: /nested deeper than 64/,
        },
      )
    })
  })
})
