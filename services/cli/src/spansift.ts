import { createApiServer } from '@spansift/api/api-server'
import { createApiApp } from '@spansift/api/app'
import { createInProcessBus } from '@spansift/bus/in-process-bus'
import { createKafkaBus } from '@spansift/bus/kafka-bus'
import { ConsumerGroup, type SpanBus } from '@spansift/bus/span-bus'
import { openStorage, type Storage } from '@spansift/clickhouse/storage'
import { createAuthenticator } from '@spansift/core/authenticator'
import type { DatasetCaps } from '@spansift/core/datasets/caps'
import type { DatasetWriter } from '@spansift/core/datasets/dataset-writer-port'
import type { Stage } from '@spansift/core/lifecycle'
import type { Logger } from '@spansift/core/logger'
import type { Span } from '@spansift/core/span-model'
import { createOtlpGrpcReceiver } from '@spansift/receiver/otlp-grpc-receiver'
import { createOtlpHttpReceiver } from '@spansift/receiver/otlp-http-receiver'
import { createDatasetWriter } from '@spansift/workers/dataset-writer'
import { createSpanWriter } from '@spansift/workers/span-writer'
import type { Config } from './config.ts'
import { ROLES, type Role } from './roles.ts'

export interface Spansift {
  start(): Promise<void>
  /** Stops sources first (receivers, API), then drains the bus and the writer, then closes storage. */
  shutdown(): Promise<void>
  ports(): { otlpHttp: number; otlpGrpc: number; api: number }
  storage(): Storage
  /** The dataset writer every append goes through (the API's, and tests racing it). */
  datasetWriter(): DatasetWriter
}

/** Wiring choices that are not configuration (tests inject smaller dataset caps). */
export interface SpansiftOptions {
  datasetCaps?: DatasetCaps
  /** The roles this process runs; all of them by default. */
  roles?: ReadonlySet<Role>
  /** Kafka topic names (tests isolate themselves); the contract's names by default. */
  kafkaTopic?: string
}

/** Spans in flight in the embedded pipeline, at most: about 100 MiB of decoded spans. */
const MAX_IN_FLIGHT_SPANS = 100_000

/**
 * Wires one spansift process: the roles it runs, around the bus (in-process by default,
 * Kafka with SPANSIFT_KAFKA_BROKERS) and ClickHouse (embedded by default, a server with
 * SPANSIFT_CLICKHOUSE_URL). The embedded default runs every role in one process:
 * OTLP/HTTP and OTLP/gRPC receivers → in-process bus → span writer → ClickHouse, and the API.
 */
export function createSpansift(config: Config, logger: Logger, options: SpansiftOptions = {}): Spansift {
  const roles = options.roles ?? new Set(ROLES)
  if (!config.kafkaBrokers && roles.size < ROLES.length) {
    throw new Error(
      `running only some roles (${[...roles].join(', ')}) needs the Kafka bus between processes: set SPANSIFT_KAFKA_BROKERS, or run --role all`,
    )
  }
  let storage: Storage | undefined
  let datasetWriter: DatasetWriter | undefined
  const started: Stage[] = []
  let httpReceiverPort = () => config.otlpHttpPort
  let grpcReceiverPort = () => config.otlpGrpcPort
  let apiPort = () => config.apiPort

  return {
    ports: () => ({ otlpHttp: httpReceiverPort(), otlpGrpc: grpcReceiverPort(), api: apiPort() }),
    storage: () => {
      if (!storage) throw new Error('spansift is not started')
      return storage
    },
    datasetWriter: () => {
      if (!datasetWriter) throw new Error('spansift is not started')
      return datasetWriter
    },
    async start() {
      storage = await openStorage({
        url: config.clickhouseUrl,
        dataDir: config.dataDir,
        logger,
        migrate: true,
        spanRetentionDays: config.spanRetentionDays,
      })
      const store = storage
      const authenticator = createAuthenticator({
        adminKey: config.adminKey,
        findApplicationId: (hash) => store.apiKeys.findApplicationId(hash),
      })
      const writer = createSpanWriter({
        insert: (spans) => store.spans.insert(spans),
        maxBatchSpans: 20_000,
        maxDelayMs: 25,
        logger: logger.child({ component: 'span-writer' }),
      })
      // The one dataset writer of this process: appends from the API (and, next, the rule
      // workers) to a dataset are serialized here, so caps hold exactly.
      datasetWriter = createDatasetWriter({
        datasets: store.datasets,
        versions: store.datasetVersions,
        items: store.datasetItems,
        ...(options.datasetCaps ? { caps: options.datasetCaps } : {}),
        logger,
      })
      const bus: SpanBus = config.kafkaBrokers
        ? createKafkaBus({
            brokers: config.kafkaBrokers,
            clientId: `spansift-${[...roles].join('-')}`,
            partitions: config.kafkaPartitions,
            logger,
            ...(options.kafkaTopic
              ? { topic: options.kafkaTopic, deadLetterTopic: `${options.kafkaTopic}.dlq` }
              : {}),
          })
        : createInProcessBus({ maxInFlightSpans: MAX_IN_FLIGHT_SPANS })
      if (roles.has('span-writer')) bus.subscribe(ConsumerGroup.spanWriter, (spans) => writer.write(spans))
      const api = createApiServer({
        app: createApiApp({
          authenticator,
          ...store,
          datasetWriter,
          spanRetentionDays: config.spanRetentionDays,
          logger,
          ready: () => store.ping(),
        }),
        host: config.host,
        port: config.apiPort,
        logger,
      })
      const receiverOptions = {
        host: config.host,
        authenticator,
        publish: (spans: readonly Span[]) => bus.publish(spans),
        logger,
      }
      const httpReceiver = createOtlpHttpReceiver({ ...receiverOptions, port: config.otlpHttpPort })
      const grpcReceiver = createOtlpGrpcReceiver({ ...receiverOptions, port: config.otlpGrpcPort })
      httpReceiverPort = () => httpReceiver.port()
      grpcReceiverPort = () => grpcReceiver.port()
      apiPort = () => api.port()
      // Sinks before sources; each role contributes its stages. The rule-worker role has
      // nothing to run until rules exist (TODO #5): it starts and idles.
      const stages: Stage[] = [
        ...(roles.has('span-writer') ? [writer] : []),
        bus,
        ...(roles.has('api') ? [api] : []),
        ...(roles.has('receiver') ? [httpReceiver, grpcReceiver] : []),
      ]
      for (const stage of stages) {
        await stage.start()
        started.push(stage)
      }
    },
    async shutdown() {
      while (started.length > 0) {
        const stage = started.pop()!
        try {
          await stage.shutdown()
        } catch (error) {
          logger.error('shutdown step failed', { error })
        }
      }
      await storage?.close()
      storage = undefined
      datasetWriter = undefined
    },
  }
}
