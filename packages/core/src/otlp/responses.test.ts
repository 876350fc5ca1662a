import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import protobuf from 'protobufjs'
import {
  encodeExportTraceResponse,
  encodeRetryStatus,
  encodeRpcStatus,
  RETRY_INFO_TYPE_URL,
} from './responses.ts'
import { ExportTraceServiceResponseType, RpcStatusType } from './test-proto-schema.ts'

describe('encodeExportTraceResponse', () => {
  it('is an empty message without partial success', () => {
    assert.deepEqual(encodeExportTraceResponse(undefined, 'protobuf'), new Uint8Array(0))
    assert.equal(encodeExportTraceResponse(undefined, 'json'), '{}')
    // An empty partial success means the same as none (OTLP spec).
    assert.equal(encodeExportTraceResponse({ rejectedSpans: 0, errorMessage: '' }, 'json'), '{}')
  })

  it('carries rejected spans and the message, in protobuf', () => {
    const bytes = encodeExportTraceResponse(
      { rejectedSpans: 2, errorMessage: '2 spans rejected: x' },
      'protobuf',
    )
    assert.ok(bytes instanceof Uint8Array)
    const decoded = ExportTraceServiceResponseType.toObject(ExportTraceServiceResponseType.decode(bytes), {
      longs: Number,
    })
    assert.deepEqual(decoded, { partialSuccess: { rejectedSpans: 2, errorMessage: '2 spans rejected: x' } })
  })

  it('carries rejected spans and the message, in OTLP/JSON', () => {
    const json = encodeExportTraceResponse({ rejectedSpans: 2, errorMessage: '2 spans rejected: x' }, 'json')
    assert.deepEqual(JSON.parse(json), {
      partialSuccess: { rejectedSpans: '2', errorMessage: '2 spans rejected: x' },
    })
  })
})

describe('encodeRpcStatus', () => {
  it('encodes google.rpc.Status in protobuf', () => {
    const bytes = encodeRpcStatus(3, 'malformed protobuf: truncated varint at offset 9', 'protobuf')
    assert.deepEqual(RpcStatusType.toObject(RpcStatusType.decode(bytes)), {
      code: 3,
      message: 'malformed protobuf: truncated varint at offset 9',
    })
  })

  it('encodes google.rpc.Status in JSON', () => {
    assert.deepEqual(JSON.parse(encodeRpcStatus(14, 'try later', 'json')), { code: 14, message: 'try later' })
  })
})

describe('the hand-written encoding', () => {
  // protobufjs, loading the .proto files, is the oracle: the same bytes, field for field.
  const long = `${'é'.repeat(100)} 🌳 ${'x'.repeat(300)}`
  it('matches protobufjs for export responses', () => {
    for (const [rejectedSpans, errorMessage] of [
      [2, 'x'],
      [300, long],
      [0, 'only a message'],
      [2 ** 40, ''],
    ] as const) {
      const expected = ExportTraceServiceResponseType.encode(
        ExportTraceServiceResponseType.fromObject({ partialSuccess: { rejectedSpans, errorMessage } }),
      ).finish()
      assert.deepEqual(
        encodeExportTraceResponse({ rejectedSpans, errorMessage }, 'protobuf'),
        new Uint8Array(expected),
      )
    }
  })

  it('matches protobufjs for statuses, with and without RetryInfo', () => {
    for (const [code, message] of [
      [3, 'bad'],
      [14, long],
      [0, ''],
    ] as const) {
      const expected = RpcStatusType.encode(RpcStatusType.fromObject({ code, message })).finish()
      assert.deepEqual(encodeRpcStatus(code, message, 'protobuf'), new Uint8Array(expected))
    }
    const retryInfo = protobuf.Writer.create()
      .uint32((1 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 0)
      .int64(300)
      .ldelim()
      .finish()
    const expected = RpcStatusType.encode({
      code: 8,
      message: long,
      details: [{ type_url: RETRY_INFO_TYPE_URL, value: retryInfo }],
    }).finish()
    assert.deepEqual(encodeRetryStatus(8, long, 299.5), new Uint8Array(expected))
  })
})

describe('encodeRetryStatus', () => {
  it('encodes google.rpc.Status with one google.rpc.RetryInfo detail', () => {
    const bytes = encodeRetryStatus(14, 'the spans could not be stored right now; retry later', 2)
    const status = RpcStatusType.toObject(RpcStatusType.decode(bytes)) as {
      code: number
      message: string
      details: Array<{ type_url: string; value: Uint8Array }>
    }
    assert.equal(status.code, 14)
    assert.equal(status.message, 'the spans could not be stored right now; retry later')
    assert.equal(status.details.length, 1)
    assert.equal(status.details[0]!.type_url, RETRY_INFO_TYPE_URL)
    // RetryInfo { Duration retry_delay = 1 }, Duration { int64 seconds = 1; int32 nanos = 2 }, as
    // google/rpc/error_details.proto declares them.
    const root = protobuf.parse(`syntax = "proto3";
      message Duration { int64 seconds = 1; int32 nanos = 2; }
      message RetryInfo { Duration retry_delay = 1; }`).root
    const retryInfo = root.lookupType('RetryInfo')
    assert.deepEqual(retryInfo.toObject(retryInfo.decode(status.details[0]!.value), { longs: Number }), {
      retryDelay: { seconds: 2 },
    })
  })
})
