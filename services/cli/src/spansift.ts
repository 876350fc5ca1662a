import { createApiServer } from '@spansift/api/api-server'
import { createApiApp } from '@spansift/api/app'
import { createApplicationCheck } from '@spansift/application/application-check'
import { createContentAttacher } from '@spansift/application/content-attacher'
import { createDatasetAppender } from '@spansift/application/dataset-appender'
import { createDatasetOwnerKey } from '@spansift/application/dataset-owner-key'
import { createDatasetWriter } from '@spansift/application/dataset-writer'
import { createKeyUsageTracker } from '@spansift/application/key-usage-tracker'
import { createReviewQueue } from '@spansift/application/review-queue'
import { createRuleRegistry, type RuleRegistry } from '@spansift/application/rule-registry'
import { createStorageTargetLookup } from '@spansift/application/rule-target-lookup'
import { createRuleWorker } from '@spansift/application/rule-worker'
import { createRulesService } from '@spansift/application/rules-service'
import { createSpanWriter } from '@spansift/application/span-writer'
import { CONTENT_RULE_WORKER_GROUP, CONTENT_WRITER_GROUP, type ContentBus } from '@spansift/bus/content-bus'
import { createInProcessAppendQueue } from '@spansift/bus/in-process-append-queue'
import { createInProcessBus } from '@spansift/bus/in-process-bus'
import { createInProcessContentBus } from '@spansift/bus/in-process-content-bus'
import { createKafkaAppendQueue, type KafkaAppendQueue } from '@spansift/bus/kafka-append-queue'
import { createKafkaBus } from '@spansift/bus/kafka-bus'
import { createKafkaContentBus } from '@spansift/bus/kafka-content-bus'
import { ConsumerGroup, type SpanBus } from '@spansift/bus/span-bus'
import { openStorage, type Storage } from '@spansift/clickhouse/storage'
import { createAuthenticator } from '@spansift/core/authenticator'
import type { DatasetAppendQueue } from '@spansift/core/datasets/append-queue-port'
import type { DatasetCaps } from '@spansift/core/datasets/caps'
import { createRoutedDatasetWriter } from '@spansift/core/datasets/dataset-command'
import type { DatasetWriter } from '@spansift/core/datasets/dataset-writer-port'
import type { Stage } from '@spansift/core/lifecycle'
import type { Logger } from '@spansift/core/logger'
import type { SpanContentEvent } from '@spansift/core/span-content-event'
import type { Span } from '@spansift/core/span-model'
import { createOtlpGrpcReceiver } from '@spansift/receiver/otlp-grpc-receiver'
import { createOtlpHttpReceiver } from '@spansift/receiver/otlp-http-receiver'
import { buildWebAssets } from '@spansift/web/web-assets'
import type { Config } from './config.ts'
import { createOpsServer, type OpsServer } from './ops-server.ts'
import { createPrometheusMetrics } from './prometheus-metrics.ts'
import { ROLES, type Role } from './roles.ts'

export interface Spansift {
  start(): Promise<void>
  /**
   * Stops sources first (receivers, API), then drains the bus and the writer, then closes
   * storage; the ops server (/metrics, /healthz, /readyz) goes last.
   */
  shutdown(): Promise<void>
  ports(): { otlpHttp: number; otlpGrpc: number; api: number; metrics: number }
  storage(): Storage
  /**
   * The dataset writer the API goes through (and tests racing it): this process's own
   * writer when embedded; with Kafka, the routed writer that sends each change to its
   * dataset's owner.
   */
  datasetWriter(): DatasetWriter
  /** The rules in force in this process. */
  rules(): RuleRegistry
  /** The bus the receivers publish to (tests publish spans past the receivers' validation). */
  bus(): SpanBus
}

/** Wiring choices that are not configuration (tests inject smaller dataset caps). */
export interface SpansiftOptions {
  datasetCaps?: DatasetCaps
  /** The roles this process runs; all of them by default. */
  roles?: ReadonlySet<Role>
  /** Kafka topic names (tests isolate themselves); the contract's names by default. */
  kafkaTopic?: string
  /** How often the rules directory is checked for changes (ms); 0 turns reloading off. */
  rulesPollIntervalMs?: number
}

/** Spans in flight in the embedded pipeline, at most: about 100 MiB of decoded spans. */
const MAX_IN_FLIGHT_SPANS = 100_000
/**
 * Encoded bytes in flight in the embedded pipeline, at most (the Kafka bus's bound too).
 * Decoded spans and their ClickHouse rows take several times their encoding.
 */
const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024

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
  let registry: RuleRegistry | undefined
  const started: Stage[] = []
  let httpReceiverPort = () => config.otlpHttpPort
  let grpcReceiverPort = () => config.otlpGrpcPort
  let apiPort = () => config.apiPort
  let bus: SpanBus | undefined
  // Metrics live as long as this instance (one registry each: tests run several per process).
  const metrics = createPrometheusMetrics()
  // Started first and stopped last, so a process is observable while it starts and drains.
  const ops: OpsServer = createOpsServer({
    host: config.host,
    port: config.metricsPort,
    scrape: () => metrics.scrape(),
    readinessChecks: {
      clickhouse: async () => (storage ? storage.ping() : false),
      bus: async () => (bus ? bus.ready() : false),
      // A consumer group of this process that has lag and has committed nothing for the stall time.
      consumers: async () => (bus?.stalledGroups?.() ?? []).length === 0,
    },
    logger,
  })

  return {
    ports: () => ({
      otlpHttp: httpReceiverPort(),
      otlpGrpc: grpcReceiverPort(),
      api: apiPort(),
      metrics: ops.port(),
    }),
    storage: () => {
      if (!storage) throw new Error('spansift is not started')
      return storage
    },
    datasetWriter: () => {
      if (!datasetWriter) throw new Error('spansift is not started')
      return datasetWriter
    },
    rules: () => {
      if (!registry) throw new Error('spansift is not started')
      return registry
    },
    bus: () => {
      if (!bus) throw new Error('spansift is not started')
      return bus
    },
    async start() {
      await ops.start()
      storage = await openStorage({
        url: config.clickhouseUrl,
        cluster: config.clickhouseCluster,
        dataDir: config.dataDir,
        logger,
        migrate: true,
        spanRetentionDays: config.spanRetentionDays,
      })
      const store = storage
      // Keys' last use: remembered per process, written every few seconds (never per request).
      const keyUsage = createKeyUsageTracker({
        write: (uses) => store.apiKeys.recordUse(uses),
        flushIntervalMs: config.keyUsageFlushSeconds * 1000,
        logger: logger.child({ component: 'key-usage' }),
      })
      const authenticator = createAuthenticator({
        adminKey: config.adminKey,
        findKey: (hash) => store.apiKeys.findByHash(hash),
        // Short: a key revoked by any process stops working here within this time.
        cacheTtlMs: config.keyCacheSeconds * 1000,
        recordUse: (keyId) => keyUsage.record(keyId),
      })
      // GenAI content sent as OTLP log records is attached to its spans in storage,
      // whichever arrives first (see content-attacher.ts).
      const contentAttacher = createContentAttacher({ storage: store, logger, metrics })
      const writer = createSpanWriter({
        insert: async (spans) => {
          await store.spans.insert(spans)
          await contentAttacher.attachToStoredSpans(spans)
        },
        maxBatchSpans: 20_000,
        // Short: while an insert runs, the next batch gathers anyway (one insert at a time);
        // the wait only delays a batch that would start at once. Measured with
        // load-tests/ingest-benchmark.ts (4 exporters, two alternating pairs): 5 ms stored
        // 33,300 and 30,700 spans/s, 25 ms 29,800 and 29,800, 60 ms 25,100 and 24,800.
        maxDelayMs: 5,
        logger: logger.child({ component: 'span-writer' }),
        metrics,
      })
      // This process's own dataset writer: changes to one dataset are serialized here, so
      // caps hold exactly. Embedded, every change goes through it; with Kafka, only those
      // of the datasets whose appends-topic partitions this process holds (it owns them).
      const ownWriter = createDatasetWriter({
        datasets: store.datasets,
        versions: store.datasetVersions,
        items: store.datasetItems,
        ...(options.datasetCaps ? { caps: options.datasetCaps } : {}),
        logger,
        metrics,
      })
      // What every Kafka client of this process shares: brokers and topic provisioning.
      const kafka = config.kafkaBrokers && {
        brokers: config.kafkaBrokers,
        partitions: config.kafkaPartitions,
        replicationFactor: config.kafkaReplicationFactor,
        minInsyncReplicas: config.kafkaMinInsyncReplicas,
        handoverMs: config.kafkaHandoverMs,
        spanLimits: config.spanLimits,
        logger,
        metrics,
      }
      const spanBus: SpanBus = kafka
        ? createKafkaBus({
            ...kafka,
            clientId: `spansift-${[...roles].join('-')}`,
            stallMs: config.consumerStallSeconds * 1000,
            ...(options.kafkaTopic
              ? { topic: options.kafkaTopic, deadLetterTopic: `${options.kafkaTopic}.dlq` }
              : {}),
          })
        : createInProcessBus({
            maxInFlightSpans: MAX_IN_FLIGHT_SPANS,
            maxInFlightBytes: MAX_IN_FLIGHT_BYTES,
            metrics,
          })
      bus = spanBus
      // Logs (GenAI content events) ride their own topic, `spansift.logs`, in the distributed wiring.
      const contentBus: ContentBus = kafka
        ? createKafkaContentBus({
            ...kafka,
            clientId: `spansift-${[...roles].join('-')}-logs`,
            ...(options.kafkaTopic ? { topic: `${options.kafkaTopic}.logs` } : {}),
          })
        : createInProcessContentBus()
      if (roles.has('span-writer')) {
        // From Kafka, the stamp may come from a Collector: it must name an existing
        // application, or the record is dead-lettered (the receiver's own stamps always do).
        const applications = kafka
          ? createApplicationCheck({ exists: async (id) => (await store.applications.get(id)) !== undefined })
          : undefined
        spanBus.subscribe(ConsumerGroup.spanWriter, async (spans) => {
          await applications?.assertKnown(spans)
          await writer.write(spans)
        })
        contentBus.subscribe(CONTENT_WRITER_GROUP, async (events) => {
          await applications?.assertKnown(events)
          await contentAttacher.storeEvents(events)
        })
      }
      // Rules: the registry (files, reloads, status) serves the rule workers and the API.
      const rules = createRuleRegistry({
        dir: config.rulesDir,
        pollIntervalMs: options.rulesPollIntervalMs ?? 1_000,
        lookup: createStorageTargetLookup(store),
        logger,
        metrics,
      })
      registry = rules
      // Every change to a dataset reaches its one owner: in process, or over Kafka keyed by
      // dataset (rule matches, and the API's changes as commands with a reply) to the member
      // of the appender group holding its partition, so caps and drafts hold across processes.
      const kafkaQueue: KafkaAppendQueue | undefined = kafka
        ? createKafkaAppendQueue({
            ...kafka,
            clientId: `spansift-${[...roles].join('-')}-appends`,
            sendsCommands: roles.has('api'),
            ownerKey: createDatasetOwnerKey({ getDataset: (id) => store.datasets.get(id) }),
            ...(options.kafkaTopic
              ? {
                  topic: `${options.kafkaTopic}.dataset-appends`,
                  repliesTopic: `${options.kafkaTopic}.dataset-replies`,
                }
              : {}),
          })
        : undefined
      const appendQueue: DatasetAppendQueue = kafkaQueue ?? createInProcessAppendQueue()
      datasetWriter = kafkaQueue ? createRoutedDatasetWriter({ send: kafkaQueue.send }) : ownWriter
      const runsRules = roles.has('rule-worker')
      // The owners: rule workers and API processes alike join the appender group, so a
      // deployment without rule workers still has them.
      const ownsDatasets = runsRules || roles.has('api')
      if (ownsDatasets) {
        appendQueue.consume(createDatasetAppender({ writer: ownWriter, registry: rules, logger, metrics }))
        kafkaQueue?.serveCommands(ownWriter)
      }
      if (runsRules) {
        const evaluate = createRuleWorker({ registry: rules, queue: appendQueue, metrics })
        // Rules see the content events stored before the span arrived, and evaluate a stored
        // span again when its content arrives after it (a row it already added stays as it was).
        // Only applications with rules cost a content lookup.
        const ruled = <T extends { applicationId: string }>(items: readonly T[]) =>
          items.filter((item) => rules.forApplication(item.applicationId).length > 0)
        spanBus.subscribe(ConsumerGroup.ruleWorker, async (spans) =>
          evaluate(await contentAttacher.withStoredContent(ruled(spans))),
        )
        contentBus.subscribe(CONTENT_RULE_WORKER_GROUP, async (events) =>
          evaluate(await contentAttacher.storedSpansWith(ruled(events))),
        )
      }
      const api = createApiServer({
        app: createApiApp({
          authenticator,
          ...store,
          datasetWriter,
          rules: createRulesService({
            registry: rules,
            scans: store.ruleScans,
            progress: store.ruleBackfills,
            items: store.datasetItems,
            writer: datasetWriter,
            logger,
          }),
          spanSearch: store.spanSearch,
          reviewQueue: createReviewQueue({ repository: store.reviewClaims }),
          webAssets: roles.has('api') ? await buildWebAssets() : undefined,
          spanRetentionDays: config.spanRetentionDays,
          maxBodyBytes: config.apiMaxBodyBytes,
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
        publish: (spans: readonly Span[], sizeBytes: number) => spanBus.publish(spans, sizeBytes),
        // The Kafka bus takes protobuf exports split on the wire: the receiver never builds spans for them.
        ...(spanBus.publishEncoded ? { publishEncoded: spanBus.publishEncoded } : {}),
        publishContent: (events: readonly SpanContentEvent[]) => contentBus.publish(events),
        logger,
        metrics,
        spanLimits: config.spanLimits,
      }
      const httpReceiver = createOtlpHttpReceiver({ ...receiverOptions, port: config.otlpHttpPort })
      const grpcReceiver = createOtlpGrpcReceiver({ ...receiverOptions, port: config.otlpGrpcPort })
      httpReceiverPort = () => httpReceiver.port()
      grpcReceiverPort = () => grpcReceiver.port()
      apiPort = () => api.port()
      // Sinks before sources; each role contributes its stages.
      const stages: Stage[] = [
        { start: async () => {}, shutdown: () => keyUsage.close() },
        ...(roles.has('span-writer') ? [writer] : []),
        ...(runsRules || roles.has('api') ? [rules] : []),
        ...(ownsDatasets ? [appendQueue] : []),
        spanBus,
        contentBus,
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
      try {
        await storage?.close()
      } finally {
        storage = undefined
        datasetWriter = undefined
        registry = undefined
        bus = undefined
        await ops.shutdown()
      }
    },
  }
}
