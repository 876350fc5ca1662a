import { createApiServer } from '@spansift/api/api-server'
import { createApiApp } from '@spansift/api/app'
import { createInProcessBus } from '@spansift/bus/in-process-bus'
import { ConsumerGroup } from '@spansift/bus/span-bus'
import { openStorage, type Storage } from '@spansift/clickhouse/storage'
import { createAuthenticator } from '@spansift/core/authenticator'
import type { DatasetCaps } from '@spansift/core/datasets/caps'
import type { DatasetWriter } from '@spansift/core/datasets/dataset-writer-port'
import type { Stage } from '@spansift/core/lifecycle'
import type { Logger } from '@spansift/core/logger'
import { createOtlpHttpReceiver } from '@spansift/receiver/otlp-http-receiver'
import { createDatasetWriter } from '@spansift/workers/dataset-writer'
import { createSpanWriter } from '@spansift/workers/span-writer'
import type { Config } from './config.ts'

export interface Spansift {
  start(): Promise<void>
  /** Stops sources first (receivers, API), then drains the bus and the writer, then closes storage. */
  shutdown(): Promise<void>
  ports(): { otlpHttp: number; api: number }
  storage(): Storage
  /** The dataset writer every append goes through (the API's, and tests racing it). */
  datasetWriter(): DatasetWriter
}

/** Wiring choices that are not configuration (tests inject smaller dataset caps). */
export interface SpansiftOptions {
  datasetCaps?: DatasetCaps
}

/** Spans in flight in the embedded pipeline, at most: about 100 MiB of decoded spans. */
const MAX_IN_FLIGHT_SPANS = 100_000

/**
 * Wires the embedded default: OTLP/HTTP receiver → in-process bus → span writer →
 * ClickHouse (embedded or server), and the API, in one process.
 */
export function createSpansift(config: Config, logger: Logger, options: SpansiftOptions = {}): Spansift {
  if (config.kafkaBrokers) {
    throw new Error(
      'SPANSIFT_KAFKA_BROKERS is set, but this build runs the embedded bus only; unset it to start embedded',
    )
  }
  let storage: Storage | undefined
  let datasetWriter: DatasetWriter | undefined
  const started: Stage[] = []
  let receiverPort = () => config.otlpHttpPort
  let apiPort = () => config.apiPort

  return {
    ports: () => ({ otlpHttp: receiverPort(), api: apiPort() }),
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
      const bus = createInProcessBus({ maxInFlightSpans: MAX_IN_FLIGHT_SPANS })
      bus.subscribe(ConsumerGroup.spanWriter, (spans) => writer.write(spans))
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
      const receiver = createOtlpHttpReceiver({
        host: config.host,
        port: config.otlpHttpPort,
        authenticator,
        publish: (spans) => bus.publish(spans),
        logger,
      })
      receiverPort = () => receiver.port()
      apiPort = () => api.port()
      // Sinks before sources.
      for (const stage of [writer, bus, api, receiver]) {
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
