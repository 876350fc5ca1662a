/**
 * Requests shared by the OTLP tests: a realistic GenAI span touching every AnyValue kind and
 * every span field, so one round trip exercises the whole codec.
 */
import { hexToBytes } from './hex.ts'
import type { OtlpAnyValue, OtlpExportTraceRequest, OtlpKeyValue, OtlpSpan } from './otlp-types.ts'

/** Bytes from hex, for literals in tests. */
export function hex(text: string): Uint8Array {
  const bytes = hexToBytes(text)
  if (bytes === undefined) throw new Error(`bad hex in test: ${text}`)
  return bytes
}

/** A string KeyValue. */
export function str(key: string, value: string): OtlpKeyValue {
  return { key, value: { type: 'string', value } }
}

/** An int KeyValue. */
export function int(key: string, value: bigint): OtlpKeyValue {
  return { key, value: { type: 'int', value } }
}

/** The fixture span's trace id, hex. */
export const TRACE_ID = '5b8efff798038103d269b633813fc60c'
/** The fixture span's id, hex. */
export const SPAN_ID = 'eee19b7ec3c1b174'
/** The fixture span's parent id, hex. */
export const PARENT_SPAN_ID = 'eee19b7ec3c1b173'
/** 2^53 + 1: the smallest positive int64 a JS number cannot hold. */
export const BEYOND_SAFE = 9007199254740993n

const nested: OtlpAnyValue = {
  type: 'array',
  value: [
    { type: 'string', value: 'a' },
    { type: 'int', value: 1n },
    {
      type: 'array',
      value: [
        { type: 'bool', value: false },
        { type: 'kvlist', value: [{ key: 'deep', value: { type: 'double', value: -0.5 } }] },
      ],
    },
    { type: 'empty', value: null },
  ],
}

/** A chat completion span with prompt and completion, an event, a link and every AnyValue kind. */
export function genAiSpan(overrides: Partial<OtlpSpan> = {}): OtlpSpan {
  return {
    traceId: hex(TRACE_ID),
    spanId: hex(SPAN_ID),
    traceState: 'vendor=t61rcWkgMzE',
    parentSpanId: hex(PARENT_SPAN_ID),
    flags: 0x301,
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: 1_763_805_600_123_456_789n,
    endTimeUnixNano: 1_763_805_601_987_654_321n,
    attributes: [
      str('gen_ai.operation.name', 'chat'),
      str('gen_ai.system', 'openai'),
      str('gen_ai.request.model', 'gpt-4o'),
      str('gen_ai.response.model', 'gpt-4o-2024-08-06'),
      int('gen_ai.usage.input_tokens', 1234n),
      int('gen_ai.usage.output_tokens', 56n),
      { key: 'gen_ai.request.temperature', value: { type: 'double', value: 0.7 } },
      { key: 'gen_ai.request.stream', value: { type: 'bool', value: true } },
      str('gen_ai.prompt', 'Résume ce texte en une phrase : « Les traces sont des arbres. » 🌳'),
      str('gen_ai.completion', 'Traces are trees.'),
      {
        key: 'gen_ai.response.finish_reasons',
        value: { type: 'array', value: [{ type: 'string', value: 'stop' }] },
      },
      {
        key: 'gen_ai.request.tool',
        value: {
          type: 'kvlist',
          value: [
            str('name', 'search'),
            { key: 'args', value: { type: 'kvlist', value: [int('limit', 10n)] } },
          ],
        },
      },
      { key: 'nested', value: nested },
      int('big.positive', BEYOND_SAFE),
      int('big.negative', -BEYOND_SAFE),
      int('int64.min', -0x8000000000000000n),
      int('negative.small', -3n),
      { key: 'raw', value: { type: 'bytes', value: new Uint8Array([0, 1, 2, 253, 254, 255]) } },
      { key: 'unset', value: { type: 'empty', value: null } },
      { key: 'zero', value: { type: 'int', value: 0n } },
      { key: 'empty.string', value: { type: 'string', value: '' } },
    ],
    droppedAttributesCount: 2,
    events: [
      {
        timeUnixNano: 1_763_805_600_500_000_000n,
        name: 'gen_ai.content.prompt',
        attributes: [str('gen_ai.prompt', 'Hello')],
        droppedAttributesCount: 0,
      },
      {
        timeUnixNano: 1_763_805_601_000_000_000n,
        name: 'first_token',
        attributes: [],
        droppedAttributesCount: 1,
      },
    ],
    droppedEventsCount: 3,
    links: [
      {
        traceId: hex('0af7651916cd43dd8448eb211c80319c'),
        spanId: hex('b7ad6b7169203331'),
        traceState: 'congo=t61rcWkgMzE',
        attributes: [str('link.kind', 'retry')],
        droppedAttributesCount: 0,
        flags: 1,
      },
    ],
    droppedLinksCount: 4,
    status: { message: 'rate limited, retried', code: 2 },
    ...overrides,
  }
}

/** A request with one resource, one scope and the given spans (default: one GenAI span). */
export function genAiRequest(spans: OtlpSpan[] = [genAiSpan()]): OtlpExportTraceRequest {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [str('service.name', 'support-bot'), str('deployment.environment', 'prod')],
          droppedAttributesCount: 1,
          entityRefs: [
            {
              schemaUrl: '',
              type: 'service',
              idKeys: ['service.name'],
              descriptionKeys: ['deployment.environment'],
            },
          ],
        },
        scopeSpans: [
          {
            scope: {
              name: 'opentelemetry.instrumentation.openai',
              version: '0.1.0',
              attributes: [str('scope.attr', 'x')],
              droppedAttributesCount: 0,
            },
            spans,
            schemaUrl: 'https://opentelemetry.io/schemas/1.27.0',
          },
        ],
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      },
    ],
  }
}
