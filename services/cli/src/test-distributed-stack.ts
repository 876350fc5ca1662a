import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Admin } from '@platformatic/kafka'
import { openStorage, type Storage } from '@spansift/clickhouse/storage'
import { silentLogger } from '@spansift/core/logger'
import { startOwnBroker, type TestBroker } from './test-kafka-broker.ts'
import { freePort } from './test-otlp.ts'
import { startClickHouseProcess, startSpansiftProcess, type TestProcess } from './test-processes.ts'

/**
 * The distributed wiring for multi-process tests: a real Kafka broker of the test's own,
 * one ClickHouse shared over HTTP (the embedded engine behind the HTTP interface), and a
 * receiver + API process in front (it migrates the schema). Roles are added with
 * `spawnRole`; `stop` ends them all, newest first, then ClickHouse and the broker.
 */
export interface DistributedStack {
  broker: TestBroker
  /** The ClickHouse process; a test that restarts it assigns the new one here. */
  clickhouse: { process: TestProcess; url: string }
  clickhouseDir: string
  /** The environment every spansift process of the stack gets. */
  env: Record<string, string>
  front: TestProcess
  otlpUrl: string
  apiUrl: string
  /** The shared ClickHouse, for the test's own checks (opened without migrating). */
  storage: Storage
  /** Starts a process of `roles`, with `env` over the stack's (a second API's port, say). */
  spawnRole(roles: string[], env?: Record<string, string>): Promise<TestProcess>
  /**
   * Resolves once consumer group `group` is stable with `members` members, every one
   * holding partitions: the rebalances of processes just started are over.
   */
  groupSettled(group: string, members: number, timeoutMs?: number): Promise<void>
  /** The processes' warnings, errors and group membership changes, each line prefixed with its roles: for a failure's diagnosis. */
  eventLog(): string
  stop(): Promise<void>
}

export async function startDistributedStack(options: {
  adminKey: string
  /** Variables beyond the stack's own (a rules directory, say). */
  env?: Record<string, string>
}): Promise<DistributedStack> {
  const processes: Array<TestProcess & { roles: string[] }> = []
  const broker = await startOwnBroker()
  const clickhouseDir = mkdtempSync(join(tmpdir(), 'spansift-stack-ch-'))
  const clickhouse = await startClickHouseProcess(clickhouseDir)
  const otlpPort = await freePort()
  const apiPort = await freePort()
  const env = {
    SPANSIFT_KAFKA_BROKERS: broker.brokers,
    SPANSIFT_CLICKHOUSE_URL: `${clickhouse.url}/spansift`,
    SPANSIFT_ADMIN_KEY: options.adminKey,
    SPANSIFT_KAFKA_PARTITIONS: '6',
    SPANSIFT_OTLP_HTTP_PORT: String(otlpPort),
    SPANSIFT_OTLP_GRPC_PORT: '0',
    SPANSIFT_API_PORT: String(apiPort),
    // Several processes side by side: each its own ephemeral ops port.
    SPANSIFT_METRICS_PORT: '0',
    ...options.env,
  }
  const spawnRole = async (roles: string[], extra: Record<string, string> = {}) => {
    const p = await startSpansiftProcess(roles, { ...env, ...extra })
    processes.push(Object.assign(p, { roles }))
    return p
  }
  let front: TestProcess
  let storage: Storage
  try {
    front = await spawnRole(['receiver', 'api'])
    storage = await openStorage({
      url: env.SPANSIFT_CLICKHOUSE_URL,
      dataDir: '',
      logger: silentLogger,
      migrate: false,
      spanRetentionDays: 30,
    })
  } catch (error) {
    // The test never gets a stack to stop: what started is stopped here, or it would keep
    // the test process alive long after the failure.
    for (const p of processes) await p.stop(10_000)
    await clickhouse.process.stop()
    await broker.destroy()
    rmSync(clickhouseDir, { recursive: true, force: true })
    throw error
  }
  const stack: DistributedStack = {
    broker,
    clickhouse,
    clickhouseDir,
    env,
    front,
    otlpUrl: `http://127.0.0.1:${otlpPort}/v1/traces`,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    storage,
    spawnRole,
    async groupSettled(group, members, timeoutMs = 60_000) {
      const admin = new Admin({ clientId: 'stack-group-probe', bootstrapBrokers: [broker.brokers] })
      try {
        let seen = 'not described yet'
        for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(250)) {
          const described = (await admin.describeGroups({ groups: [group] })).get(group)
          const holding = [...(described?.members.values() ?? [])].filter(
            (m) => (m.assignments?.size ?? 0) > 0,
          )
          seen = `${described?.state} with ${described?.members.size} members, ${holding.length} holding partitions`
          if (
            described?.state === 'Stable' &&
            described.members.size === members &&
            holding.length === members
          )
            return
        }
        throw new Error(`group ${group} did not settle with ${members} members in ${timeoutMs} ms: ${seen}`)
      } finally {
        await admin.close()
      }
    },
    eventLog() {
      const notable = /"level":"(warn|error)"|"msg":"(joined the group|the group is rebalancing)/
      return processes
        .flatMap((p) =>
          p
            .output()
            .split('\n')
            .filter((line) => notable.test(line))
            .map((line) => `[${p.roles.join(',')} ${p.child.pid}] ${line}`),
        )
        .join('\n')
    },
    async stop() {
      for (const p of processes.reverse()) await p.stop(10_000)
      await storage.close()
      await stack.clickhouse.process.stop()
      await broker.destroy()
      rmSync(clickhouseDir, { recursive: true, force: true })
    },
  }
  return stack
}

/**
 * Registers, in the calling test file, a hook that prints the stack's event log as a
 * diagnostic when a test fails: what the processes warned of and how their groups
 * changed meanwhile. `stack` is read when a test ends (it is started in `before`).
 */
export function showEventLogOnFailure(stack: () => DistributedStack | undefined): void {
  afterEach((t) => {
    // `passed` is Node's (v21.7), not yet in @types/node's TestContext.
    const log = 'passed' in t && !t.passed ? stack()?.eventLog() : undefined
    if (log) t.diagnostic(log)
  })
}
