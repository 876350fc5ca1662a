import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { exactInteger } from '../exact-integer.ts'
import { APPLICATION_ID_ATTRIBUTE } from '../span-model.ts'
import { normalizeExportTraceRequest } from './normalize.ts'
import type { OtlpExportTraceRequest } from './otlp-types.ts'
import { genAiRequest, genAiSpan, hex, PARENT_SPAN_ID, SPAN_ID, str, TRACE_ID } from './test-fixtures.ts'

const APP = '0b6c2a0e-6a43-4d56-9d0f-3f9e1c1e8a01'

/** The GenAI request with the given resource attributes. */
function withResource(request: OtlpExportTraceRequest, attributes = [str('service.name', 'support-bot')]) {
  request.resourceSpans[0]!.resource.attributes = attributes
  return request
}

describe('normalizeExportTraceRequest', () => {
  it('produces the span model from a GenAI span', () => {
    const { spans, rejectedSpans, rejectionMessage } = normalizeExportTraceRequest(genAiRequest(), {
      applicationId: APP,
    })
    assert.equal(rejectedSpans, 0)
    assert.equal(rejectionMessage, '')
    assert.equal(spans.length, 1)
    const span = spans[0]!
    assert.deepEqual(
      { ...span, attributes: undefined, events: undefined, links: undefined },
      {
        applicationId: APP,
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        parentSpanId: PARENT_SPAN_ID,
        traceState: 'vendor=t61rcWkgMzE',
        name: 'chat gpt-4o',
        kind: 3,
        startTimeUnixNano: 1_763_805_600_123_456_789n,
        endTimeUnixNano: 1_763_805_601_987_654_321n,
        durationNano: 1_864_197_532n,
        statusCode: 2,
        statusMessage: 'rate limited, retried',
        serviceName: 'support-bot',
        scopeName: 'opentelemetry.instrumentation.openai',
        scopeVersion: '0.1.0',
        resourceAttributes: { 'service.name': 'support-bot', 'deployment.environment': 'prod' },
        attributes: undefined,
        events: undefined,
        links: undefined,
        flags: 0x301,
      },
    )
  })

  it('converts AnyValues as the span model documents', () => {
    const [span] = normalizeExportTraceRequest(genAiRequest(), { applicationId: APP }).spans
    assert.deepEqual(span!.attributes, {
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.input_tokens': 1234,
      'gen_ai.usage.output_tokens': 56,
      'gen_ai.request.temperature': 0.7,
      'gen_ai.request.stream': true,
      'gen_ai.prompt': 'Résume ce texte en une phrase : « Les traces sont des arbres. » 🌳',
      'gen_ai.completion': 'Traces are trees.',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.request.tool': { name: 'search', args: { limit: 10 } },
      nested: ['a', 1, [false, { deep: -0.5 }], null],
      'big.positive': exactInteger(9007199254740993n),
      'big.negative': exactInteger(-9007199254740993n),
      'int64.min': exactInteger(-9223372036854775808n),
      'negative.small': -3,
      raw: 'AAEC/f7/',
      unset: null,
      zero: 0,
      'empty.string': '',
    })
  })

  it('keeps the largest safe integers as numbers and non-finite doubles as strings', () => {
    const request = genAiRequest([
      genAiSpan({
        attributes: [
          { key: 'max', value: { type: 'int', value: BigInt(Number.MAX_SAFE_INTEGER) } },
          { key: 'min', value: { type: 'int', value: BigInt(Number.MIN_SAFE_INTEGER) } },
          { key: 'nan', value: { type: 'double', value: Number.NaN } },
          { key: 'inf', value: { type: 'double', value: Number.POSITIVE_INFINITY } },
        ],
      }),
    ])
    const [span] = normalizeExportTraceRequest(request, { applicationId: APP }).spans
    assert.deepEqual(span!.attributes, {
      max: Number.MAX_SAFE_INTEGER,
      min: Number.MIN_SAFE_INTEGER,
      nan: 'NaN',
      inf: 'Infinity',
    })
  })

  it('normalizes events and links', () => {
    const [span] = normalizeExportTraceRequest(genAiRequest(), { applicationId: APP }).spans
    assert.deepEqual(span!.events, [
      {
        timeUnixNano: 1_763_805_600_500_000_000n,
        name: 'gen_ai.content.prompt',
        attributes: { 'gen_ai.prompt': 'Hello' },
      },
      { timeUnixNano: 1_763_805_601_000_000_000n, name: 'first_token', attributes: {} },
    ])
    assert.deepEqual(span!.links, [
      {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceState: 'congo=t61rcWkgMzE',
        attributes: { 'link.kind': 'retry' },
      },
    ])
  })

  it('gives root spans an empty parent id, and never a negative duration', () => {
    const request = genAiRequest([
      genAiSpan({ parentSpanId: new Uint8Array(0), startTimeUnixNano: 10n, endTimeUnixNano: 5n }),
      genAiSpan({ parentSpanId: new Uint8Array(8) }),
    ])
    const { spans } = normalizeExportTraceRequest(request, { applicationId: APP })
    assert.equal(spans[0]!.parentSpanId, '')
    assert.equal(spans[0]!.durationNano, 0n)
    assert.equal(spans[1]!.parentSpanId, '')
  })

  it('maps kinds and status codes it does not know to unspecified and unset', () => {
    const request = genAiRequest([genAiSpan({ kind: 9, status: { code: 7, message: '' } })])
    const [span] = normalizeExportTraceRequest(request, { applicationId: APP }).spans
    assert.equal(span!.kind, 0)
    assert.equal(span!.statusCode, 0)
  })

  describe('application id', () => {
    it('takes the given application id over a client-sent stamp, and strips the stamp', () => {
      const request = withResource(genAiRequest(), [
        str('service.name', 'svc'),
        str(APPLICATION_ID_ATTRIBUTE, 'spoofed-app'),
      ])
      const [span] = normalizeExportTraceRequest(request, { applicationId: APP }).spans
      assert.equal(span!.applicationId, APP)
      assert.deepEqual(span!.resourceAttributes, { 'service.name': 'svc' })
    })

    it('falls back to the resource stamp (spans from the bus), and strips it', () => {
      const request = withResource(genAiRequest(), [
        str(APPLICATION_ID_ATTRIBUTE, APP),
        str('service.name', 'svc'),
      ])
      const [span] = normalizeExportTraceRequest(request).spans
      assert.equal(span!.applicationId, APP)
      assert.equal(span!.serviceName, 'svc')
      assert.deepEqual(span!.resourceAttributes, { 'service.name': 'svc' })
    })

    it('rejects spans with neither', () => {
      const request = genAiRequest([genAiSpan(), genAiSpan()])
      const result = normalizeExportTraceRequest(request)
      assert.deepEqual(result.spans, [])
      assert.equal(result.rejectedSpans, 2)
      assert.equal(
        result.rejectionMessage,
        '2 spans rejected: no application id (resource attribute spansift.application.id missing)',
      )
    })

    it('rejects an empty given application id instead of trusting the stamp', () => {
      const request = withResource(genAiRequest(), [str(APPLICATION_ID_ATTRIBUTE, 'spoofed-app')])
      const result = normalizeExportTraceRequest(request, { applicationId: '' })
      assert.equal(result.rejectedSpans, 1)
      assert.equal(result.rejectionMessage, '1 span rejected: no application id (empty)')
    })
  })

  it('has an empty service name when the resource has none', () => {
    const [span] = normalizeExportTraceRequest(withResource(genAiRequest(), []), { applicationId: APP }).spans
    assert.equal(span!.serviceName, '')
  })

  describe('invalid ids', () => {
    it('rejects wrong id lengths and all-zero ids, counting and explaining, never throwing', () => {
      const good = genAiSpan()
      const request = genAiRequest([
        genAiSpan({ traceId: hex('5b8efff798038103d269b633813fc6') }), // 15 bytes
        good,
        genAiSpan({ traceId: hex('5b8efff798038103d269b633813fc6') }),
      ])
      const result = normalizeExportTraceRequest(request, { applicationId: APP })
      assert.equal(result.spans.length, 1)
      assert.equal(result.rejectedSpans, 2)
      assert.equal(result.rejectionMessage, '2 spans rejected: trace_id must be 16 bytes (got 15)')
    })

    it('lists each reason with its count when there are several', () => {
      const request = genAiRequest([
        genAiSpan({ traceId: new Uint8Array(16) }),
        genAiSpan({ spanId: hex('0102') }),
        genAiSpan({ spanId: new Uint8Array(8) }),
        genAiSpan({ spanId: new Uint8Array(0) }),
        genAiSpan({ traceId: new Uint8Array(0) }),
        genAiSpan({ parentSpanId: hex('01') }),
        genAiSpan({ spanId: hex('0102') }),
        genAiSpan(),
      ])
      const result = normalizeExportTraceRequest(request, { applicationId: APP })
      assert.equal(result.spans.length, 1)
      assert.equal(result.rejectedSpans, 7)
      assert.equal(
        result.rejectionMessage,
        '7 spans rejected: trace_id must not be all zeros (1 span); span_id must be 8 bytes (got 2) (2 spans); ' +
          'span_id must not be all zeros (1 span); span_id must be 8 bytes (got 0) (1 span); ' +
          'trace_id must be 16 bytes (got 0) (1 span); and 1 more reason',
      )
    })
  })

  it('shares one frozen resource attribute object among the spans of a resource', () => {
    const { spans } = normalizeExportTraceRequest(genAiRequest([genAiSpan(), genAiSpan()]), {
      applicationId: APP,
    })
    assert.equal(spans[0]!.resourceAttributes, spans[1]!.resourceAttributes)
    assert.ok(Object.isFrozen(spans[0]!.resourceAttributes))
  })

  it('stores an attribute named __proto__ as an attribute', () => {
    const request = genAiRequest([genAiSpan({ attributes: [str('__proto__', 'x'), str('a', 'b')] })])
    const [span] = normalizeExportTraceRequest(request, { applicationId: APP }).spans
    assert.equal(Object.getPrototypeOf(span!.attributes), Object.prototype)
    assert.deepEqual(Object.keys(span!.attributes), ['__proto__', 'a'])
    assert.equal(JSON.stringify(span!.attributes), '{"__proto__":"x","a":"b"}')
  })
})
