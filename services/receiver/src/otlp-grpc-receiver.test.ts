import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  type Client,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js'
import { BusUnavailableError } from '@spansift/bus/span-bus'
import { silentLogger } from '@spansift/core/logger'
import { encodeExportTraceRequestProtobuf } from '@spansift/core/otlp/encode-protobuf'
import { RETRY_INFO_TYPE_URL } from '@spansift/core/otlp/responses'
import { RpcStatusType } from '@spansift/core/otlp/test-proto-schema'
import { StorageRejectedError } from '@spansift/core/storage-errors'
import {
  createOtlpGrpcReceiver,
  type OtlpGrpcReceiver,
  traceServiceDefinition,
} from './otlp-grpc-receiver.ts'
import { createTestAuthenticator, TEST_APP_KEY } from './test-authenticator.ts'

// The gRPC translation of every outcome the pipeline can reach, with the pipeline faked.
let failure: Error | undefined
let keyStoreDown = false
const authenticator = createTestAuthenticator(() => keyStoreDown)
let receiver: OtlpGrpcReceiver

before(async () => {
  receiver = createOtlpGrpcReceiver({
    host: '127.0.0.1',
    port: 0,
    authenticator,
    publish: async () => {
      if (failure) throw failure
    },
    logger: silentLogger,
  })
  await receiver.start()
})
after(async () => {
  await receiver.shutdown()
})

const body = encodeExportTraceRequestProtobuf({
  resourceSpans: [
    {
      resource: { attributes: [], droppedAttributesCount: 0, entityRefs: [] },
      schemaUrl: '',
      scopeSpans: [
        {
          scope: { name: 'unit', version: '', attributes: [], droppedAttributesCount: 0 },
          schemaUrl: '',
          spans: [
            {
              traceId: new Uint8Array(16).fill(1),
              spanId: new Uint8Array(8).fill(2),
              parentSpanId: new Uint8Array(0),
              traceState: '',
              flags: 0,
              name: 'op',
              kind: 1,
              startTimeUnixNano: 1n,
              endTimeUnixNano: 2n,
              attributes: [],
              droppedAttributesCount: 0,
              events: [],
              droppedEventsCount: 0,
              links: [],
              droppedLinksCount: 0,
              status: { code: 0, message: '' },
            },
          ],
        },
      ],
    },
  ],
})

type TraceServiceClient = Client & {
  Export(request: Uint8Array, metadata: Metadata, callback: (error: ServiceError | null) => void): void
}
const TraceServiceClient = makeGenericClientConstructor(traceServiceDefinition, 'TraceService')

async function exportOnce(): Promise<ServiceError | null> {
  const client = new TraceServiceClient(
    `127.0.0.1:${receiver.port()}`,
    credentials.createInsecure(),
  ) as unknown as TraceServiceClient
  const metadata = new Metadata()
  metadata.set('authorization', `Bearer ${TEST_APP_KEY}`)
  try {
    return await new Promise((resolve) => client.Export(body, metadata, (error) => resolve(error)))
  } finally {
    client.close()
  }
}

/** The RetryInfo delay, in seconds, of the call's grpc-status-details-bin trailer. */
function retryDelaySeconds(error: ServiceError): number {
  const [details] = error.metadata.get('grpc-status-details-bin')
  assert.ok(Buffer.isBuffer(details))
  const decoded = RpcStatusType.toObject(RpcStatusType.decode(details)) as {
    code: number
    details: Array<{ type_url: string; value: Uint8Array }>
  }
  assert.equal(decoded.code, error.code, 'the status detail repeats the call status')
  assert.equal(decoded.details[0]?.type_url, RETRY_INFO_TYPE_URL)
  // RetryInfo { retry_delay (1): Duration { seconds (1): varint } }, one-byte varint here.
  const value = decoded.details[0]!.value
  assert.deepEqual([...value.subarray(0, 3)], [0x0a, value.length - 2, 0x08])
  return value[3]!
}

describe('OTLP/gRPC statuses', () => {
  test('a stored export is OK', async () => {
    failure = undefined
    assert.equal(await exportOnce(), null)
  })

  test('an overloaded bus is RESOURCE_EXHAUSTED with the bus’s RetryInfo', async () => {
    failure = new BusUnavailableError('overloaded', 'too many spans in flight; retry later', 3)
    const error = await exportOnce()
    assert.equal(error?.code, status.RESOURCE_EXHAUSTED)
    assert.match(error.details, /too many spans in flight/)
    assert.equal(retryDelaySeconds(error), 3)
  })

  test('an unavailable bus is UNAVAILABLE with RetryInfo', async () => {
    failure = new BusUnavailableError('unavailable', 'Kafka did not acknowledge', 1)
    const error = await exportOnce()
    assert.equal(error?.code, status.UNAVAILABLE)
    assert.equal(retryDelaySeconds(error), 1)
  })

  test('a storage failure is UNAVAILABLE with RetryInfo', async () => {
    failure = new Error('insert failed')
    const error = await exportOnce()
    assert.equal(error?.code, status.UNAVAILABLE)
    assert.match(error.details, /could not be stored/)
    assert.equal(retryDelaySeconds(error), 2)
  })

  test('storage refusing the spans is INVALID_ARGUMENT with the reason, not retryable', async () => {
    failure = new StorageRejectedError('Cannot parse DateTime', { code: 41 })
    const error = await exportOnce()
    assert.equal(error?.code, status.INVALID_ARGUMENT)
    assert.match(error.details, /storage refused the spans: Cannot parse DateTime/)
    assert.deepEqual(error.metadata.get('grpc-status-details-bin'), [])
  })

  test('an unreachable key store is UNAVAILABLE with RetryInfo', async () => {
    failure = undefined
    keyStoreDown = true
    try {
      const error = await exportOnce()
      assert.equal(error?.code, status.UNAVAILABLE)
      assert.match(error.details, /API key cannot be checked/)
      assert.equal(retryDelaySeconds(error), 2)
    } finally {
      keyStoreDown = false
    }
  })
})
