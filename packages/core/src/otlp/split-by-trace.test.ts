import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { APPLICATION_ID_ATTRIBUTE } from '../span-model.ts'
import { decodeExportTraceRequestProtobuf } from './decode-protobuf.ts'
import { encodeExportTraceRequestProtobuf } from './encode-protobuf.ts'
import { normalizeExportTraceRequest } from './normalize.ts'
import type { OtlpExportTraceRequest, OtlpScopeSpans } from './otlp-types.ts'
import { splitByTrace } from './split-by-trace.ts'
import { genAiSpan, hex, str } from './test-fixtures.ts'

const APP = '0b6c2a0e-6a43-4d56-9d0f-3f9e1c1e8a01'
const T1 = '11111111111111111111111111111111'
const T2 = '22222222222222222222222222222222'
const T3 = '33333333333333333333333333333333'

function scope(name: string, traces: string[]): OtlpScopeSpans {
  return {
    scope: { name, version: '1', attributes: [], droppedAttributesCount: 0 },
    spans: traces.map((t, i) => genAiSpan({ traceId: hex(t), name: `${name}/${i}` })),
    schemaUrl: `schema:${name}`,
  }
}

/** Two resources; the first has two scopes. Traces interleave across all of them. */
function mixedRequest(): OtlpExportTraceRequest {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [str('service.name', 'a'), str(APPLICATION_ID_ATTRIBUTE, 'spoofed')],
          droppedAttributesCount: 0,
          entityRefs: [],
        },
        scopeSpans: [scope('s1', [T1, T2, T1]), scope('s2', [T2])],
        schemaUrl: 'resource-a',
      },
      {
        resource: { attributes: [str('service.name', 'b')], droppedAttributesCount: 0, entityRefs: [] },
        scopeSpans: [scope('s3', [T1, T3])],
        schemaUrl: 'resource-b',
      },
    ],
  }
}

/** Span names by resource service name and scope name, to compare groupings at a glance. */
function shape(request: OtlpExportTraceRequest): string[] {
  return request.resourceSpans.flatMap((rs) =>
    rs.scopeSpans.map((ss) => {
      const service = rs.resource.attributes.find((a) => a.key === 'service.name')!.value.value
      return `${service}:${ss.scope.name}:${ss.spans.map((s) => s.name).join(',')}`
    }),
  )
}

describe('splitByTrace', () => {
  it('groups spans by trace id in order of first appearance, keeping resource and scope', () => {
    const parts = splitByTrace(mixedRequest(), APP)
    assert.deepEqual(
      parts.map((p) => p.traceId),
      [T1, T2, T3],
    )
    assert.deepEqual(shape(parts[0]!.request), ['a:s1:s1/0,s1/2', 'b:s3:s3/0'])
    assert.deepEqual(shape(parts[1]!.request), ['a:s1:s1/1', 'a:s2:s2/0'])
    assert.deepEqual(shape(parts[2]!.request), ['b:s3:s3/1'])
    const first = parts[0]!.request.resourceSpans
    assert.equal(first[0]!.schemaUrl, 'resource-a')
    assert.equal(first[0]!.scopeSpans[0]!.schemaUrl, 'schema:s1')
    assert.equal(first[0]!.scopeSpans[0]!.scope.version, '1')
  })

  it('stamps every resource with the application id, replacing the one the client sent', () => {
    for (const { request } of splitByTrace(mixedRequest(), APP)) {
      for (const { resource } of request.resourceSpans) {
        const stamps = resource.attributes.filter((a) => a.key === APPLICATION_ID_ATTRIBUTE)
        assert.deepEqual(stamps, [str(APPLICATION_ID_ATTRIBUTE, APP)])
      }
    }
  })

  it('leaves the input request untouched', () => {
    const request = mixedRequest()
    const before = structuredClone(request)
    splitByTrace(request, APP)
    assert.deepEqual(request, before)
  })

  it('produces requests that survive the bus and normalize under the stamped application', () => {
    for (const { traceId, request } of splitByTrace(mixedRequest(), APP)) {
      const onTheBus = decodeExportTraceRequestProtobuf(encodeExportTraceRequestProtobuf(request))
      assert.deepEqual(onTheBus, request)
      const { spans, rejectedSpans } = normalizeExportTraceRequest(onTheBus)
      assert.equal(rejectedSpans, 0)
      assert.ok(spans.every((s) => s.traceId === traceId && s.applicationId === APP))
      assert.ok(spans.every((s) => !(APPLICATION_ID_ATTRIBUTE in s.resourceAttributes)))
    }
  })

  it('returns nothing for an empty request', () => {
    assert.deepEqual(splitByTrace({ resourceSpans: [] }, APP), [])
  })
})
