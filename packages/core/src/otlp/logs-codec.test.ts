import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { SpanContentEvent } from '../span-content-event.ts'
import { contentEventsToExportRequest } from './content-events-to-request.ts'
import { OtlpDecodeError } from './decode-error.ts'
import { decodeExportLogsRequestJson } from './decode-json.ts'
import { decodeExportLogsRequestProtobuf } from './decode-protobuf.ts'
import { encodeExportLogsRequestProtobuf } from './encode-protobuf.ts'
import { normalizeExportLogsRequest } from './normalize-logs.ts'
import { encodeExportLogsResponse } from './responses.ts'
import { DEFAULT_SPAN_LIMITS } from './span-limits.ts'
import { ExportLogsServiceRequestType, ExportLogsServiceResponseType } from './test-proto-schema.ts'

const TRACE = '5b8efff798038103d269b633813fc60c'
const SPAN = 'eee19b7ec3c1b174'
const APP = '0f8fad5b-d9cb-469f-a165-70867728950e'

/** A logs request as the OTel SDKs send one: a GenAI event, an old-style event, and a plain log. */
function sdkStyleJson() {
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bot' } }] },
        scopeLogs: [
          {
            scope: { name: 'opentelemetry.instrumentation.openai_v2', version: '2.1b0' },
            logRecords: [
              {
                timeUnixNano: '1764640000000000001',
                observedTimeUnixNano: '1764640000000000009',
                severityNumber: 'SEVERITY_NUMBER_INFO',
                eventName: 'gen_ai.user.message',
                traceId: TRACE,
                spanId: SPAN,
                attributes: [{ key: 'gen_ai.system', value: { stringValue: 'openai' } }],
                body: {
                  kvlistValue: {
                    values: [{ key: 'content', value: { stringValue: 'Where is my refund?' } }],
                  },
                },
              },
              {
                timeUnixNano: '1764640000000000002',
                traceId: TRACE,
                spanId: SPAN,
                attributes: [
                  { key: 'event.name', value: { stringValue: 'gen_ai.choice' } },
                  { key: 'gen_ai.system', value: { stringValue: 'openai' } },
                ],
                body: {
                  kvlistValue: {
                    values: [
                      { key: 'index', value: { intValue: '0' } },
                      { key: 'finish_reason', value: { stringValue: 'stop' } },
                    ],
                  },
                },
              },
              { timeUnixNano: '1764640000000000003', body: { stringValue: 'GET /healthz 200' } },
            ],
          },
        ],
      },
    ],
  }
}

describe('OTLP logs codec', () => {
  it('decodes OTLP/JSON and protobuf into the same request, and protobufjs reads what the encoder writes', () => {
    const fromJson = decodeExportLogsRequestJson(JSON.stringify(sdkStyleJson()))
    const bytes = encodeExportLogsRequestProtobuf(fromJson)
    assert.deepEqual(decodeExportLogsRequestProtobuf(bytes), fromJson)
    const viaProtobufjs = ExportLogsServiceRequestType.toObject(ExportLogsServiceRequestType.decode(bytes), {
      longs: String,
      bytes: String,
    })
    const record = viaProtobufjs.resourceLogs[0].scopeLogs[0].logRecords[0]
    assert.equal(record.eventName, 'gen_ai.user.message')
    assert.equal(record.timeUnixNano, '1764640000000000001')
    assert.equal(record.observedTimeUnixNano, '1764640000000000009')
    assert.equal(record.severityNumber, 9)
    assert.equal(Buffer.from(record.traceId, 'base64').toString('hex'), TRACE)
    assert.equal(record.body.kvlistValue.values[0].value.stringValue, 'Where is my refund?')
  })

  it('reads bytes protobufjs wrote from the .proto files', () => {
    const message = ExportLogsServiceRequestType.fromObject({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '7',
                  eventName: 'gen_ai.system.message',
                  traceId: Buffer.from(TRACE, 'hex'),
                  spanId: Buffer.from(SPAN, 'hex'),
                  flags: 1,
                  body: { stringValue: 'be brief' },
                },
              ],
            },
          ],
        },
      ],
    })
    const decoded = decodeExportLogsRequestProtobuf(ExportLogsServiceRequestType.encode(message).finish())
    const record = decoded.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!
    assert.equal(record.eventName, 'gen_ai.system.message')
    assert.equal(record.timeUnixNano, 7n)
    assert.equal(record.flags, 1)
    assert.deepEqual(record.body, { type: 'string', value: 'be brief' })
  })

  it('keeps GenAI events (event_name or the event.name attribute) with the body under `body`, counts the rest', () => {
    const request = decodeExportLogsRequestJson(JSON.stringify(sdkStyleJson()))
    const result = normalizeExportLogsRequest(request, { applicationId: APP })
    assert.equal(result.ignoredRecords, 1)
    assert.equal(result.rejectedRecords, 0)
    assert.deepEqual(
      result.events.map((e) => [e.name, e.traceId, e.spanId, e.timeUnixNano]),
      [
        ['gen_ai.user.message', TRACE, SPAN, 1764640000000000001n],
        ['gen_ai.choice', TRACE, SPAN, 1764640000000000002n],
      ],
    )
    assert.deepEqual(result.events[0]!.attributes, {
      'gen_ai.system': 'openai',
      body: { content: 'Where is my refund?' },
    })
    assert.deepEqual(result.events[1]!.attributes.body, { index: 0, finish_reason: 'stop' })
  })

  it('rejects GenAI events that cannot be tied to a span, with the reason, and keeps the others', () => {
    const json = sdkStyleJson()
    const records = json.resourceLogs[0]!.scopeLogs[0]!.logRecords as Array<Record<string, unknown>>
    records.push({ eventName: 'gen_ai.user.message', body: { stringValue: 'no ids' } })
    records.push({ eventName: 'gen_ai.user.message', traceId: TRACE, spanId: 'abcd' })
    const result = normalizeExportLogsRequest(decodeExportLogsRequestJson(JSON.stringify(json)), {
      applicationId: APP,
    })
    assert.equal(result.events.length, 2)
    assert.equal(result.rejectedRecords, 2)
    assert.match(result.rejectionMessage, /^2 log records rejected: /)
    assert.match(result.rejectionMessage, /must carry the trace_id and span_id/)
    assert.match(result.rejectionMessage, /span_id must be 8 bytes \(got 2\)/)
  })

  it('holds GenAI events to the span event limits (body counted as an attribute, its strings as values); other records are not checked', () => {
    const limits = {
      ...DEFAULT_SPAN_LIMITS,
      eventAttributeCount: 2,
      attributeValueLength: 10,
      nameLength: 30,
    }
    const ids = { traceId: TRACE, spanId: SPAN }
    const attribute = (key: string, value: string) => ({ key, value: { stringValue: value } })
    const records = [
      {
        ...ids,
        eventName: 'gen_ai.user.message',
        attributes: [attribute('a', '1')],
        body: { stringValue: 'short' },
      },
      {
        ...ids,
        eventName: 'gen_ai.user.message',
        body: { kvlistValue: { values: [attribute('content', 'x'.repeat(11))] } },
      },
      { ...ids, eventName: 'gen_ai.user.message', attributes: [attribute('a', 'x'.repeat(11))] },
      {
        ...ids,
        eventName: 'gen_ai.user.message',
        attributes: [attribute('a', '1'), attribute('b', '2')],
        body: { stringValue: 'x' },
      },
      { ...ids, eventName: `gen_ai.${'n'.repeat(30)}` },
      { ...ids, eventName: 'gen_ai.user.message', timeUnixNano: String(2n ** 64n - 1n) },
      { body: { stringValue: 'a plain log line far longer than the value limit' } },
    ]
    const request = decodeExportLogsRequestJson(
      JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] }),
    )
    const result = normalizeExportLogsRequest(request, { applicationId: APP, limits })
    assert.deepEqual(
      result.events.map((e) => e.attributes),
      [{ a: '1', body: 'short' }],
    )
    assert.equal(result.ignoredRecords, 1)
    assert.equal(result.rejectedRecords, 5)
    for (const reason of [
      /the body has a value longer than 10 \(1\)/,
      /attribute "a" has a value longer than 10 \(1\)/,
      /more than 2 attributes, the body included \(3\) \(1\)/,
      /event name is longer than 30 characters \(1\)/,
      /a timestamp is past 2262-04-11/,
    ])
      assert.match(result.rejectionMessage, reason)
    // Without limits (the bus: a receiver checked them), only the ids are.
    assert.equal(normalizeExportLogsRequest(request, { applicationId: APP }).events.length, 6)
  })

  it('round-trips content events through the bus form, stamped with the application', () => {
    const events: SpanContentEvent[] = [
      {
        applicationId: APP,
        traceId: TRACE,
        spanId: SPAN,
        timeUnixNano: 1764640000000000001n,
        sequence: 0,
        name: 'gen_ai.client.inference.operation.details',
        attributes: {
          'gen_ai.input.messages': [{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }],
          body: { note: 'structured', n: 2.5 },
        },
      },
    ]
    const bytes = encodeExportLogsRequestProtobuf(contentEventsToExportRequest(events))
    const back = normalizeExportLogsRequest(decodeExportLogsRequestProtobuf(bytes))
    assert.deepEqual(back.events, events)
    assert.equal(back.rejectedRecords, 0)
  })

  it('answers partial success as ExportLogsServiceResponse, in protobuf and OTLP/JSON; nothing to report is empty', () => {
    const partial = { rejectedLogRecords: 2, errorMessage: '2 log records rejected: …' }
    const decoded = ExportLogsServiceResponseType.toObject(
      ExportLogsServiceResponseType.decode(encodeExportLogsResponse(partial, 'protobuf')),
      { longs: Number },
    )
    assert.deepEqual(decoded, { partialSuccess: partial })
    assert.deepEqual(JSON.parse(encodeExportLogsResponse(partial, 'json') as string), {
      partialSuccess: { rejectedLogRecords: '2', errorMessage: '2 log records rejected: …' },
    })
    assert.equal(encodeExportLogsResponse(undefined, 'protobuf').byteLength, 0)
    assert.equal(encodeExportLogsResponse(undefined, 'json'), '{}')
  })

  it('refuses malformed input with a decode error naming the path', () => {
    assert.throws(
      () =>
        decodeExportLogsRequestJson('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz"}]}]}]}'),
      (error) =>
        error instanceof OtlpDecodeError &&
        /resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]\.traceId/.test(error.message),
    )
    assert.throws(() => decodeExportLogsRequestProtobuf(new Uint8Array([10, 5, 1])), OtlpDecodeError)
  })
})
