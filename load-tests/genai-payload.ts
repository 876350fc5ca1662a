/**
 * Synthetic but realistic OTLP trace requests for benchmarks: LLM chat spans carrying the
 * OpenTelemetry GenAI semantic-convention attributes (model, token counts, prompt and
 * completion text), about 700 bytes per span on the wire. Deterministic for a given seed.
 */
import { encodeExportTraceRequestJson } from '@spansift/core/otlp/encode-json'
import { encodeExportTraceRequestProtobuf } from '@spansift/core/otlp/encode-protobuf'
import type { OtlpExportTraceRequest, OtlpKeyValue, OtlpSpan } from '@spansift/core/otlp/otlp-types'
import { APPLICATION_ID_ATTRIBUTE } from '@spansift/core/span-model'

/** Shape of the generated request. */
export interface GenAiRequestOptions {
  /** Spans per trace: one agent span, the rest chat spans under it (default 4). */
  spansPerTrace?: number
  /** Seed of the pseudo-random ids and texts (default 1): equal seeds give equal requests. */
  seed?: number
  /** The resource's `service.name` (default 'support-bot'). */
  serviceName?: string
  /** Start of the first span (default 2025-11-22T10:00:00Z). */
  startTimeUnixNano?: bigint
  /** When given, the resource carries the `spansift.application.id` stamp, as on the bus. */
  applicationId?: string
}

/** A generated request, typed and encoded. */
export interface GenAiRequest {
  request: OtlpExportTraceRequest
  /** The request as an OTLP protobuf body. */
  protobuf: Uint8Array
  /** The request as an OTLP/JSON body (encoded on first access). */
  readonly json: string
  spanCount: number
}

const WORDS = (
  'the a customer order refund invoice shipping account password reset delivery late package ' +
  'tracking number please help me with my why is was charged twice can you explain policy ' +
  'return window days receipt store credit card payment failed subscription cancel upgrade plan ' +
  'support agent summary sentiment escalate priority ticket resolved thanks'
).split(' ')

const MODELS = [
  'gpt-4o-2024-08-06',
  'gpt-4o-mini-2024-07-18',
  'claude-3-5-sonnet-20241022',
  'gemini-1.5-pro-002',
]
const FINISH_REASONS = ['stop', 'stop', 'stop', 'length', 'tool_calls']

/**
 * Builds an `ExportTraceServiceRequest` of `spanCount` GenAI spans under one resource and one
 * instrumentation scope, grouped into traces of `spansPerTrace` spans.
 */
export function buildGenAiRequest(spanCount: number, options: GenAiRequestOptions = {}): GenAiRequest {
  const spansPerTrace = Math.max(1, options.spansPerTrace ?? 4)
  const random = xorshift(options.seed ?? 1)
  const start = options.startTimeUnixNano ?? 1_763_805_600_000_000_000n
  const spans: OtlpSpan[] = []
  let traceId: Uint8Array = new Uint8Array(0)
  let rootSpanId: Uint8Array = new Uint8Array(0)
  for (let i = 0; i < spanCount; i++) {
    const isRoot = i % spansPerTrace === 0
    if (isRoot) traceId = randomBytes(random, 16)
    const spanId = randomBytes(random, 8)
    const startTime = start + BigInt(i) * 1_000_000n
    const durationNs = BigInt(200_000_000 + Math.floor(random() * 4_000_000_000))
    const model = MODELS[Math.floor(random() * MODELS.length)]!
    const inputTokens = 50 + Math.floor(random() * 3000)
    const outputTokens = 10 + Math.floor(random() * 800)
    spans.push({
      traceId,
      spanId,
      traceState: '',
      parentSpanId: isRoot ? new Uint8Array(0) : rootSpanId,
      flags: 0x101,
      name: isRoot ? 'invoke_agent support' : `chat ${model}`,
      kind: isRoot ? 1 : 3,
      startTimeUnixNano: startTime,
      endTimeUnixNano: startTime + durationNs,
      attributes: [
        str('gen_ai.operation.name', isRoot ? 'invoke_agent' : 'chat'),
        str(
          'gen_ai.provider.name',
          model.startsWith('gpt') ? 'openai' : model.startsWith('claude') ? 'anthropic' : 'gcp.gemini',
        ),
        str('gen_ai.request.model', model),
        str('gen_ai.response.model', model),
        str('gen_ai.response.id', `chatcmpl-${hexString(randomBytes(random, 12))}`),
        int('gen_ai.usage.input_tokens', inputTokens),
        int('gen_ai.usage.output_tokens', outputTokens),
        {
          key: 'gen_ai.request.temperature',
          value: { type: 'double', value: Math.round(random() * 10) / 10 },
        },
        int('gen_ai.request.max_tokens', 1024),
        {
          key: 'gen_ai.response.finish_reasons',
          value: {
            type: 'array',
            value: [{ type: 'string', value: FINISH_REASONS[Math.floor(random() * FINISH_REASONS.length)]! }],
          },
        },
        str('gen_ai.prompt', sentence(random, 12 + Math.floor(random() * 8))),
        str('gen_ai.completion', sentence(random, 8 + Math.floor(random() * 6))),
      ],
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { message: '', code: random() < 0.05 ? 2 : 0 },
    })
    if (isRoot) rootSpanId = spanId
  }
  const resourceAttributes: OtlpKeyValue[] = [
    str('service.name', options.serviceName ?? 'support-bot'),
    str('service.version', '2.4.1'),
    str('deployment.environment.name', 'production'),
    str('telemetry.sdk.language', 'python'),
    str('telemetry.sdk.name', 'opentelemetry'),
    str('telemetry.sdk.version', '1.38.0'),
  ]
  if (options.applicationId !== undefined)
    resourceAttributes.push(str(APPLICATION_ID_ATTRIBUTE, options.applicationId))
  const request: OtlpExportTraceRequest = {
    resourceSpans: [
      {
        resource: { attributes: resourceAttributes, droppedAttributesCount: 0, entityRefs: [] },
        scopeSpans: [
          {
            scope: {
              name: 'opentelemetry.instrumentation.openai_v2',
              version: '2.1b0',
              attributes: [],
              droppedAttributesCount: 0,
            },
            spans,
            schemaUrl: 'https://opentelemetry.io/schemas/1.37.0',
          },
        ],
        schemaUrl: '',
      },
    ],
  }
  let json: string | undefined
  return {
    request,
    protobuf: encodeExportTraceRequestProtobuf(request),
    get json() {
      json ??= encodeExportTraceRequestJson(request)
      return json
    },
    spanCount,
  }
}

function str(key: string, value: string): OtlpKeyValue {
  return { key, value: { type: 'string', value } }
}

function int(key: string, value: number): OtlpKeyValue {
  return { key, value: { type: 'int', value: BigInt(value) } }
}

/** xorshift32: small, fast and good enough to vary texts and ids. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x100000000
  }
}

function randomBytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256)
  // Never all zeros: OTLP would call the id invalid.
  out[0] = out[0]! | 1
  return out
}

function hexString(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

function sentence(random: () => number, words: number): string {
  const out: string[] = []
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(random() * WORDS.length)]!)
  return `${out.join(' ')}.`
}
