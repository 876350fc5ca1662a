/**
 * The Kafka span bus's publish path alone: closed-loop publishers hand it the receiver's
 * wire-split exports (`publishEncoded`, 1,000 GenAI spans each) and wait for Kafka's
 * acknowledgement (acks=all), against a broker of the run's own (deploy/kafka/kafka.sh).
 * One bus per producer count, each on its own topic, in interleaved rounds; per round,
 * acknowledged spans/s and the CPU-seconds per 100k spans of this process (the Kafka
 * client: the wire split is done once, before) and of the broker.
 *
 *   node --conditions=spansift-test load-tests/bus-publish-benchmark.ts [--producers=1,2,4] [--rounds=4] [--seconds=6]
 *     [--publishers=4] [--partitions=6]
 */
import { parseArgs } from 'node:util'
import { createKafkaBus } from '@spansift/bus/kafka-bus'
import type { SpanBus } from '@spansift/bus/span-bus'
import { startOwnBroker } from '@spansift/cli/test-kafka-broker'
import { silentLogger } from '@spansift/core/logger'
import { DEFAULT_SPAN_LIMITS } from '@spansift/core/otlp/span-limits'
import { splitExportTraceRequestByTrace } from '@spansift/core/otlp/split-by-trace-wire'
import { cpuContention, cpuSeconds, findBrokerPid, machineDescription } from './bench-util.ts'
import { buildGenAiRequest } from './genai-payload.ts'

const { values } = parseArgs({
  options: {
    producers: { type: 'string', default: '1,2,4' },
    rounds: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '6' },
    publishers: { type: 'string', default: '4' },
    partitions: { type: 'string', default: '6' },
  },
})
const int = (text: string, name: string, min: number, max: number) => {
  const value = Number(text)
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`--${name}: an integer in [${min}, ${max}]`)
  return value
}
const PRODUCERS = values.producers.split(',').map((p) => int(p, 'producers', 1, 16))
const ROUNDS = int(values.rounds, 'rounds', 1, 10)
const SECONDS = int(values.seconds, 'seconds', 1, 60)
const PUBLISHERS = int(values.publishers, 'publishers', 1, 64)
const PARTITIONS = int(values.partitions, 'partitions', 1, 64)
const SPANS = 1000
const APPLICATION_ID = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'

const nowNano = BigInt(Date.now()) * 1_000_000n
const exports = Array.from({ length: 16 }, (_, i) => {
  const body = buildGenAiRequest(SPANS, {
    seed: i + 1,
    startTimeUnixNano: nowNano - 60_000_000_000n,
  }).protobuf
  return splitExportTraceRequestByTrace(body, { applicationId: APPLICATION_ID, limits: DEFAULT_SPAN_LIMITS })
    .traces
})

console.log(`machine: ${machineDescription()}`)
const broker = await startOwnBroker()
const buses: Array<{ producers: number; bus: SpanBus; rounds: string[] }> = []
try {
  const brokerPid = findBrokerPid(broker.brokers)
  for (const producers of PRODUCERS) {
    const topic = `bench.publish.${producers}.${Date.now()}`
    const bus = createKafkaBus({
      brokers: [broker.brokers],
      clientId: `bench-${producers}`,
      partitions: PARTITIONS,
      producers,
      logger: silentLogger,
      topic,
      deadLetterTopic: `${topic}.dlq`,
    })
    await bus.start()
    buses.push({ producers, bus, rounds: [] })
  }
  console.log(
    `${PUBLISHERS} closed-loop publishers, ${SPANS}-span exports split by trace, ${PARTITIONS} partitions, ${ROUNDS} interleaved rounds of ${SECONDS} s`,
  )
  for (let round = 0; round < ROUNDS; round++) {
    for (const entry of round % 2 === 0 ? buses : [...buses].reverse()) {
      let spans = 0
      const deadline = performance.now() + SECONDS * 1000
      const cpuBefore = process.cpuUsage()
      const brokerBefore = brokerPid === undefined ? Number.NaN : cpuSeconds(brokerPid)
      const started = performance.now()
      await Promise.all(
        Array.from({ length: PUBLISHERS }, async (_, p) => {
          for (let i = p; performance.now() < deadline && i < 1_000_000; i += PUBLISHERS) {
            await entry.bus.publishEncoded!(exports[i % exports.length]!)
            spans += SPANS
          }
        }),
      )
      const elapsed = (performance.now() - started) / 1000
      const cpu = process.cpuUsage(cpuBefore)
      const brokerCpu = brokerPid === undefined ? Number.NaN : cpuSeconds(brokerPid) - brokerBefore
      const per100k = (seconds: number) => ((seconds / spans) * 100_000).toFixed(2)
      entry.rounds.push(
        `${Math.round(spans / elapsed).toLocaleString('en-US')} spans/s (process ${per100k((cpu.user + cpu.system) / 1e6)}, broker ${per100k(brokerCpu)} CPU-s/100k)`,
      )
    }
    console.log(`round ${round + 1} done; ${cpuContention()}`)
  }
  for (const entry of buses) console.log(`${entry.producers} producer(s): ${entry.rounds.join(' · ')}`)
} finally {
  for (const entry of buses) await entry.bus.shutdown()
  await broker.destroy()
}
process.exit(0)
