import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ExportTraceServiceResponseType, RpcStatusType } from './proto-schema.ts'
import { encodeExportTraceResponse, encodeRpcStatus } from './responses.ts'

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
