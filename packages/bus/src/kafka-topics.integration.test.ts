import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { Admin, ConfigResourceTypes, ConfigSources } from '@platformatic/kafka'
import { createJsonLogger, silentLogger } from '@spansift/core/logger'
import { createKafkaBus, provisionTopics } from './kafka-bus.ts'
import { kafkaTestBrokers } from './test-kafka-broker.ts'

// Topic provisioning against the real test broker (one broker, deploy/kafka). Each test
// uses its own topic names.
const brokers = kafkaTestBrokers()
let admin: Admin

before(() => {
  admin = new Admin({ clientId: 'topics-test', bootstrapBrokers: brokers })
})
after(async () => {
  await admin.close()
})

const names = () => {
  const topic = `test.provision.${randomUUID().slice(0, 8)}`
  return { topic, deadLetterTopic: `${topic}.dlq` }
}

/** Partitions, replicas of each, and min.insync.replicas (value and where it comes from) of a topic. */
async function describe(topic: string) {
  const metadata = await admin.metadata({ topics: [topic], forceUpdate: true })
  const partitions = metadata.topics.get(topic)?.partitions ?? []
  const [config] = await admin.describeConfigs({
    resources: [
      {
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: topic,
        configurationKeys: ['min.insync.replicas'],
      },
    ],
  })
  const minInsync = config?.configs.find((c) => c.name === 'min.insync.replicas')
  return {
    partitions: partitions.length,
    replicas: [...new Set(partitions.map((p) => p.replicas.length))],
    minInsync: minInsync?.value,
    minInsyncSetOnTopic: minInsync?.configSource === ConfigSources.DYNAMIC_TOPIC_CONFIG,
  }
}

/** A logger whose warnings the test reads. */
function recordingLogger() {
  const lines: Array<{ level: string; msg: string; [field: string]: unknown }> = []
  const logger = createJsonLogger({
    level: 'info',
    sink: { write: (line: string) => void lines.push(JSON.parse(line)) },
  })
  return { logger, warnings: () => lines.filter((l) => l.level === 'warn') }
}

test('the spans topic and its dead-letter topic get the configured partitions, replication factor and min.insync.replicas', async () => {
  const { topic, deadLetterTopic } = names()
  const bus = createKafkaBus({
    brokers,
    clientId: 'provision-test',
    partitions: 5,
    replicationFactor: 1,
    minInsyncReplicas: 1,
    logger: silentLogger,
    topic,
    deadLetterTopic,
  })
  await bus.start()
  try {
    for (const name of [topic, deadLetterTopic]) {
      assert.deepEqual(await describe(name), {
        partitions: 5,
        replicas: [1],
        minInsync: '1',
        minInsyncSetOnTopic: true,
      })
    }
  } finally {
    await bus.shutdown()
  }
})

test('without a configured replication factor a one-broker cluster gets 1, and min.insync.replicas stays the broker default', async () => {
  const { topic, deadLetterTopic } = names()
  await provisionTopics(
    { brokers, clientId: 'provision-test', topics: [topic, deadLetterTopic], partitions: 2 },
    silentLogger,
  )
  const described = await describe(topic)
  assert.equal(described.partitions, 2)
  assert.deepEqual(described.replicas, [1])
  assert.equal(described.minInsyncSetOnTopic, false)
})

test('an existing topic with fewer partitions than configured is used, with a warning', async () => {
  const { topic, deadLetterTopic } = names()
  // Made by someone else, with fewer partitions and another min.insync.replicas.
  await admin.createTopics({
    topics: [topic],
    partitions: 2,
    replicas: 1,
    configs: [{ name: 'min.insync.replicas', value: '2' }],
  })
  const { logger, warnings } = recordingLogger()
  await provisionTopics(
    {
      brokers,
      clientId: 'provision-test',
      topics: [topic, deadLetterTopic],
      partitions: 4,
      replicationFactor: 1,
      minInsyncReplicas: 1,
    },
    logger,
  )
  assert.equal((await describe(topic)).partitions, 2)
  assert.equal((await describe(deadLetterTopic)).partitions, 4)
  const partitionWarnings = warnings().filter((w) => /fewer partitions/.test(w.msg))
  assert.deepEqual(
    partitionWarnings.map((w) => [w.topic, w.partitions, w.configured_partitions]),
    [[topic, 2, 4]],
  )
  // So is its min.insync.replicas; the dead-letter topic, created here, matches.
  assert.deepEqual(
    warnings()
      .filter((w) => /min\.insync\.replicas/.test(w.msg))
      .map((w) => [w.topic, w.min_insync_replicas, w.configured_min_insync_replicas]),
    [[topic, 2, 1]],
  )
  assert.equal((await describe(topic)).minInsync, '2')
  // Running again, nothing new is created and the same warning is given.
  const again = recordingLogger()
  await provisionTopics(
    { brokers, clientId: 'provision-test', topics: [topic], partitions: 4, replicationFactor: 1 },
    again.logger,
  )
  assert.equal(again.warnings().filter((w) => /fewer partitions/.test(w.msg)).length, 1)
})

test('a replication factor the cluster cannot hold, or min.insync.replicas above it, is refused at start', async () => {
  const { topic } = names()
  await assert.rejects(
    provisionTopics(
      { brokers, clientId: 'provision-test', topics: [topic], partitions: 1, replicationFactor: 2 },
      silentLogger,
    ),
    /need 2 replicas, but the cluster has 1 broker/,
  )
  await assert.rejects(
    provisionTopics(
      { brokers, clientId: 'provision-test', topics: [topic], partitions: 1, minInsyncReplicas: 2 },
      silentLogger,
    ),
    /min\.insync\.replicas 2 exceeds the replication factor 1/,
  )
  assert.equal((await admin.listTopics()).includes(topic), false)
})
