import assert from 'node:assert/strict'
import { connect } from 'node:http2'
import { after, before, describe, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import {
  type Client,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js'
import { context, SpanKind, trace } from '@opentelemetry/api'
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc'
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { SimpleSpanProcessor, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace'
import { tableNames } from '@spansift/clickhouse/tables'
import { decodeExportTraceRequestJson } from '@spansift/core/otlp/decode-json'
import { encodeExportTraceRequestProtobuf } from '@spansift/core/otlp/encode-protobuf'
import { RETRY_INFO_TYPE_URL } from '@spansift/core/otlp/responses'
import { ExportTraceServiceResponseType, RpcStatusType } from '@spansift/core/otlp/test-proto-schema'
import { TRACE_EXPORT_PATH, traceServiceDefinition } from '@spansift/receiver/otlp-grpc-receiver'
import { ADMIN_KEY, type RunningSpansift, rangeAroundNow, startSpansift } from './test-harness.ts'
import { otlpJsonExport, randomHexId } from './test-otlp.ts'

// The real server's OTLP/gRPC receiver, sent spans by the official OpenTelemetry gRPC
// exporter and by a raw grpc-js client for the inputs an exporter never sends.
let s: RunningSpansift
let app: { id: string; key: string }

before(async () => {
  s = await startSpansift()
  app = await s.createApplication('grpc-bot')
})
after(async () => {
  await s.stop()
})

const hex = randomHexId

/** An encoded ExportTraceServiceRequest with the given spans (ids in hex, any length). */
function protobufRequest(spans: Array<{ traceId: string; spanId: string; name?: string }>): Uint8Array {
  return encodeExportTraceRequestProtobuf(decodeExportTraceRequestJson(otlpJsonExport(spans)))
}

type TraceServiceClient = Client & {
  Export(
    request: Uint8Array,
    metadata: Metadata,
    callback: (error: ServiceError | null, response?: Buffer) => void,
  ): void
}
const TraceServiceClient = makeGenericClientConstructor(traceServiceDefinition, 'TraceService')

/** Calls Export with a raw client; resolves with the response bytes or the error. */
async function callExport(
  body: Uint8Array,
  headers: Record<string, string>,
  options: { gzip?: boolean } = {},
): Promise<{ response?: Buffer; error?: ServiceError }> {
  const client = new TraceServiceClient(s.otlpGrpcAddress, credentials.createInsecure(), {
    ...(options.gzip ? { 'grpc.default_compression_algorithm': 2 } : {}),
    // Our own limit is under test, not the client's.
    'grpc.max_send_message_length': -1,
  }) as unknown as TraceServiceClient
  const metadata = new Metadata()
  for (const [name, value] of Object.entries(headers)) metadata.set(name, value)
  try {
    return await new Promise((resolve) =>
      client.Export(body, metadata, (error, response) =>
        resolve(error ? { error } : response ? { response } : {}),
      ),
    )
  } finally {
    client.close()
  }
}

function expectStatus(result: { error?: ServiceError }, code: number, details: RegExp): ServiceError {
  assert.ok(result.error, 'expected the call to fail')
  assert.equal(result.error.code, code, `${status[result.error.code]}: ${result.error.details}`)
  assert.match(result.error.details, details)
  return result.error
}

/** Emits one GenAI-shaped trace (a chat span under a workflow span) through `exporter`. */
async function sendTrace(exporter: SpanExporter, label: string): Promise<string> {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'grpc-bot', 'deployment.environment': 'test' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  })
  const tracer = provider.getTracer('spansift-test', '1.2.3')
  const root = tracer.startSpan('workflow', { kind: SpanKind.SERVER })
  const chat = tracer.startSpan(
    `chat ${label}`,
    { kind: SpanKind.CLIENT },
    trace.setSpan(context.active(), root),
  )
  chat.setAttributes({
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 412,
    'gen_ai.prompt': 'What is my refund status?',
    'test.label': label,
  })
  chat.end()
  root.end()
  await provider.forceFlush()
  await provider.shutdown()
  return root.spanContext().traceId
}

function keyMetadata(entries: Record<string, string>): Metadata {
  const metadata = new Metadata()
  for (const [name, value] of Object.entries(entries)) metadata.set(name, value)
  return metadata
}

describe('the official OTLP/gRPC exporter', () => {
  const exporters: Array<[string, () => SpanExporter]> = [
    [
      'gRPC',
      () =>
        new GrpcExporter({
          url: `http://${s.otlpGrpcAddress}`,
          metadata: keyMetadata({ authorization: `Bearer ${app.key}` }),
        }),
    ],
    [
      'gRPC + gzip',
      () =>
        new GrpcExporter({
          url: `http://${s.otlpGrpcAddress}`,
          metadata: keyMetadata({ 'x-api-key': app.key }),
          compression: CompressionAlgorithm.GZIP,
        }),
    ],
  ]
  for (const [name, makeExporter] of exporters) {
    test(`${name}: spans are stored and read back through the API`, async () => {
      const traceId = await sendTrace(makeExporter(), name)
      const { status: code, body } = await s.api('GET', `/v1/traces/${traceId}?${rangeAroundNow()}`, app.key)
      assert.equal(code, 200, JSON.stringify(body))
      assert.equal(body.spans.length, 2)
      const root = body.spans.find((sp: any) => sp.name === 'workflow')
      const chat = body.spans.find((sp: any) => sp.name === `chat ${name}`)
      assert.ok(root && chat)
      assert.equal(chat.parent_span_id, root.span_id)
      assert.equal(chat.trace_id, traceId)
      assert.equal(chat.application_id, app.id)
      assert.equal(chat.kind, 'client')
      assert.equal(chat.service_name, 'grpc-bot')
      assert.deepEqual(chat.scope, { name: 'spansift-test', version: '1.2.3' })
      assert.equal(chat.attributes['gen_ai.request.model'], 'gpt-4o')
      assert.equal(chat.attributes['gen_ai.usage.input_tokens'], 412)
    })
  }
})

describe('a raw gRPC client', () => {
  test('a full success answers an empty ExportTraceServiceResponse', async () => {
    const traceId = hex(16)
    const gzipped = await callExport(
      protobufRequest([{ traceId, spanId: hex(8) }]),
      { authorization: `Bearer ${app.key}` },
      { gzip: true },
    )
    assert.equal(gzipped.error, undefined, gzipped.error?.details)
    assert.equal(gzipped.response?.length, 0)
    const read = await s.api('GET', `/v1/traces/${traceId}?${rangeAroundNow()}`, app.key)
    assert.equal(read.body.spans.length, 1)
  })

  test('malformed protobuf is INVALID_ARGUMENT with the reason', async () => {
    const result = await callExport(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), {
      authorization: `Bearer ${app.key}`,
    })
    expectStatus(result, status.INVALID_ARGUMENT, /not a valid ExportTraceServiceRequest: .+/)
  })

  test('no key and a wrong key are UNAUTHENTICATED; the admin key is PERMISSION_DENIED', async () => {
    const body = protobufRequest([{ traceId: hex(16), spanId: hex(8) }])
    expectStatus(await callExport(body, {}), status.UNAUTHENTICATED, /API key is required/)
    expectStatus(await callExport(body, { 'x-api-key': 'ssk_wrong' }), status.UNAUTHENTICATED, /not valid/)
    expectStatus(
      await callExport(body, { authorization: 'Bearer ssk_wrong' }),
      status.UNAUTHENTICATED,
      /not valid/,
    )
    expectStatus(
      await callExport(body, { authorization: `Bearer ${ADMIN_KEY}` }),
      status.PERMISSION_DENIED,
      /application key/,
    )
  })

  test('spans with bad ids are rejected and reported as partial success; the rest are stored', async () => {
    const goodTrace = hex(16)
    const result = await callExport(
      protobufRequest([
        { traceId: goodTrace, spanId: hex(8), name: 'kept' },
        { traceId: hex(15), spanId: hex(8), name: 'short trace id' },
        { traceId: hex(16), spanId: hex(7), name: 'short span id' },
      ]),
      { authorization: `Bearer ${app.key}` },
    )
    assert.equal(result.error, undefined, result.error?.details)
    const answer = ExportTraceServiceResponseType.toObject(
      ExportTraceServiceResponseType.decode(result.response!),
      {
        longs: Number,
      },
    ) as { partialSuccess?: { rejectedSpans: number; errorMessage: string } }
    assert.equal(answer.partialSuccess?.rejectedSpans, 2)
    assert.match(answer.partialSuccess!.errorMessage, /trace_id must be 16 bytes/)
    assert.match(answer.partialSuccess!.errorMessage, /span_id must be 8 bytes/)
    const read = await s.api('GET', `/v1/traces/${goodTrace}?${rangeAroundNow()}`, app.key)
    assert.deepEqual(
      read.body.spans.map((sp: { name: string }) => sp.name),
      ['kept'],
    )
  })

  test('a span over the span limits is rejected through partial success with the reason, as over HTTP', async () => {
    const keptTrace = hex(16)
    const result = await callExport(
      protobufRequest([
        { traceId: keptTrace, spanId: hex(8), name: 'kept' },
        { traceId: hex(16), spanId: hex(8), name: 'x'.repeat(2000) },
      ]),
      { authorization: `Bearer ${app.key}` },
    )
    assert.equal(result.error, undefined, result.error?.details)
    const answer = ExportTraceServiceResponseType.toObject(
      ExportTraceServiceResponseType.decode(result.response!),
      { longs: Number },
    ) as { partialSuccess?: { rejectedSpans: number; errorMessage: string } }
    assert.equal(answer.partialSuccess?.rejectedSpans, 1)
    assert.match(answer.partialSuccess!.errorMessage, /name is longer than 1024 characters/)
    const read = await s.api('GET', `/v1/traces/${keptTrace}?${rangeAroundNow()}`, app.key)
    assert.equal(read.status, 200)
  })

  test('a 21 MiB message is RESOURCE_EXHAUSTED', async () => {
    const result = await callExport(new Uint8Array(21 * 1024 * 1024), { authorization: `Bearer ${app.key}` })
    expectStatus(result, status.RESOURCE_EXHAUSTED, /larger than max .*20971520/)
  })

  test('a gzip message that inflates past the limit is RESOURCE_EXHAUSTED, cut off without inflating it whole', async () => {
    // 256 MiB of zeros compress to about 250 KiB; inflating it whole would cost 256 MiB. grpc-js's
    // client would have to compress it itself, so the frame is written over plain HTTP/2.
    const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024), { level: 9 })
    assert.ok(bomb.length < 1024 * 1024)
    const frame = Buffer.alloc(5 + bomb.length)
    frame.writeUInt8(1, 0) // compressed
    frame.writeUInt32BE(bomb.length, 1)
    bomb.copy(frame, 5)
    const before = process.memoryUsage().rss
    const started = performance.now()
    const session = connect(`http://${s.otlpGrpcAddress}`)
    try {
      const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = session.request({
          ':method': 'POST',
          ':path': TRACE_EXPORT_PATH,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-encoding': 'gzip',
          authorization: `Bearer ${app.key}`,
        })
        let headers: Record<string, unknown> = {}
        stream.on('response', (h) => {
          headers = h
        })
        // A trailers-only answer carries grpc-status in the headers.
        stream.on('trailers', (t) => resolve({ ...headers, ...t }))
        stream.on('end', () => resolve(headers))
        stream.on('error', reject)
        stream.resume()
        stream.end(frame)
      })
      assert.equal(Number(trailers['grpc-status']), status.RESOURCE_EXHAUSTED)
      assert.match(
        decodeURIComponent(String(trailers['grpc-message'])),
        /decompresses to a size larger than 20971520/,
      )
    } finally {
      session.close()
    }
    assert.ok(process.memoryUsage().rss - before < 120 * 1024 * 1024, 'the bomb was inflated past the limit')
    assert.ok(performance.now() - started < 5_000)
  })
})

describe('storage failure', () => {
  test('when ClickHouse cannot store, the export is UNAVAILABLE with a RetryInfo, and nothing is acknowledged', async () => {
    const storage = s.spansift.storage()
    const { spans } = tableNames(storage.runner.database)
    await storage.runner.command('test', `RENAME TABLE ${spans} TO ${spans}_away`)
    try {
      const result = await callExport(protobufRequest([{ traceId: hex(16), spanId: hex(8) }]), {
        authorization: `Bearer ${app.key}`,
      })
      const error = expectStatus(result, status.UNAVAILABLE, /could not be stored/)
      const [details] = error.metadata.get('grpc-status-details-bin')
      assert.ok(Buffer.isBuffer(details), 'grpc-status-details-bin is in the trailers')
      const rpcStatus = RpcStatusType.toObject(RpcStatusType.decode(details)) as {
        code: number
        message: string
        details: Array<{ type_url: string; value: Uint8Array }>
      }
      assert.equal(rpcStatus.code, status.UNAVAILABLE)
      assert.match(rpcStatus.message, /could not be stored/)
      assert.equal(rpcStatus.details[0]?.type_url, RETRY_INFO_TYPE_URL)
      // RetryInfo { retry_delay: Duration { seconds: 2 } }
      assert.deepEqual([...rpcStatus.details[0]!.value], [0x0a, 0x02, 0x08, 0x02])
    } finally {
      await storage.runner.command('test', `RENAME TABLE ${spans}_away TO ${spans}`)
    }
    // Once storage is back, the exporter's retry lands.
    const traceId = hex(16)
    const retry = await callExport(protobufRequest([{ traceId, spanId: hex(8) }]), {
      authorization: `Bearer ${app.key}`,
    })
    assert.equal(retry.error, undefined, retry.error?.details)
    const read = await s.api('GET', `/v1/traces/${traceId}?${rangeAroundNow()}`, app.key)
    assert.equal(read.body.spans.length, 1)
  })
})
