import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { Agent, request as httpRequest } from 'node:http'
import { createServer } from 'node:net'
import os from 'node:os'
import { join } from 'node:path'

/** The machine a benchmark ran on, printed with its figures. */
export function machineDescription(): string {
  const cpus = os.cpus()
  const memGiB = (os.totalmem() / 1024 ** 3).toFixed(1)
  return `${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length} cores, ${memGiB} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`
}

/**
 * How contended the CPU is: the load average and the share of the last 10 s in which
 * some runnable task waited for a core (Linux pressure stall information). On a shared
 * machine it says whether a figure measured the code or the queue for a core.
 */
export function cpuContention(): string {
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
  let stall = 'n/a'
  try {
    stall = `${/some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? 'n/a'}%`
  } catch {}
  return `load average ${load}, CPU stall (some, 10 s) ${stall}`
}

// ---------------------------------------------------------------- CPU accounting (Linux /proc)

/** Kernel clock ticks per second (the unit of /proc CPU times). */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU seconds (user + system, all threads) a process has used; NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return Number.NaN
  }
}

/** Busy (steal excluded), stolen and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpu(): { busy: number; steal: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number)
  const total = ticks.reduce((a, b) => a + b, 0)
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0)
  const steal = ticks[7] ?? 0
  return {
    busy: (total - idle - steal) / CLOCK_TICKS,
    steal: steal / CLOCK_TICKS,
    total: total / CLOCK_TICKS,
  }
}

/** The broker's JVM (kafka.sh starts it with setsid, so it is no child of ours), found by its port. */
export function findBrokerPid(brokers: string): number | undefined {
  const listener = `PLAINTEXT://${brokers}`
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      if (!args.includes('kafka.Kafka')) continue
      const properties = args.find((a) => a.endsWith('server.properties'))
      if (properties && readFileSync(properties, 'utf8').includes(listener)) return Number(entry)
    } catch {}
  }
  return undefined
}

/** A free loopback port (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Percentile of sorted values (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

/** Peak resident set size of a process, in MiB (Linux VmHWM). */
export function peakRssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN)
    return kb / 1024
  } catch {
    return Number.NaN
  }
}

export interface SpansiftProcess {
  child: ChildProcess
  otlpUrl: string
  /** The OTLP/gRPC receiver's `host:port`. */
  otlpGrpcAddress: string
  apiUrl: string
  stop(): Promise<void>
}

const repoRoot = join(import.meta.dirname, '..')

/** Starts `spansift start` as its own process, as `npm start` would, and waits until its API answers. */
export async function startSpansiftProcess(env: Record<string, string>): Promise<SpansiftProcess> {
  const otlpPort = await freePort()
  const otlpGrpcPort = await freePort()
  const apiPort = await freePort()
  const child = spawn(process.execPath, [join(repoRoot, 'services/cli/src/main.ts'), 'start'], {
    env: {
      PATH: process.env.PATH ?? '',
      SPANSIFT_OTLP_HTTP_PORT: String(otlpPort),
      SPANSIFT_OTLP_GRPC_PORT: String(otlpGrpcPort),
      SPANSIFT_API_PORT: String(apiPort),
      SPANSIFT_METRICS_PORT: '0',
      SPANSIFT_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const apiUrl = `http://127.0.0.1:${apiPort}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`spansift exited with ${child.exitCode} before it was ready`)
    try {
      if ((await fetch(`${apiUrl}/healthz`)).ok) break
    } catch {}
    if (Date.now() > deadline) throw new Error('spansift did not become ready within 60 s')
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    child,
    otlpUrl: `http://127.0.0.1:${otlpPort}/v1/traces`,
    otlpGrpcAddress: `127.0.0.1:${otlpGrpcPort}`,
    apiUrl,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))])
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}

/** Creates an application through the API with the admin key, and a key of its own: what every benchmark's load sends with. */
export async function createApplicationWithKey(
  apiUrl: string,
  adminKey: string,
  name: string,
): Promise<{ applicationId: string; key: string }> {
  const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }
  const appResponse = await fetch(`${apiUrl}/v1/applications`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name }),
  })
  if (!appResponse.ok) throw new Error(`creating the application: ${appResponse.status}`)
  const { id } = (await appResponse.json()) as { id: string }
  const keyResponse = await fetch(`${apiUrl}/v1/applications/${id}/keys`, { method: 'POST', headers })
  if (!keyResponse.ok) throw new Error(`creating a key: ${keyResponse.status}`)
  const { key } = (await keyResponse.json()) as { key: string }
  return { applicationId: id, key }
}

/** Posts request bodies to one URL over keep-alive connections. */
export interface HttpPoster {
  /** Resolves with the response's status once its body has arrived; rejects on a network error or a connection idle for the timeout. */
  post(body: Uint8Array): Promise<number>
  close(): void
}

/**
 * node:http with a keep-alive agent, not fetch: fetch copies each body into a web stream,
 * and a benchmark client's CPU comes out of the same cores as the server's. Measured with
 * load-tests/ingest-benchmark.ts (715 KiB bodies, 4 exporters): the client used 59% of a
 * core with fetch, 7% with this; the same server stored 22,900 spans/s against 31,100.
 */
export function createHttpPoster(
  url: string,
  options: { headers: Record<string, string>; maxSockets: number; timeoutMs: number },
): HttpPoster {
  const target = new URL(url)
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets })
  return {
    post: (body) =>
      new Promise((resolve, reject) => {
        const req = httpRequest(
          {
            agent,
            host: target.hostname,
            port: target.port,
            path: target.pathname,
            method: 'POST',
            headers: { ...options.headers, 'content-length': body.byteLength },
            timeout: options.timeoutMs,
          },
          (response) => {
            response.resume()
            response.on('end', () => resolve(response.statusCode ?? 0))
            response.on('error', reject)
          },
        )
        req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in ${options.timeoutMs} ms`)))
        req.on('error', reject)
        req.end(body)
      }),
    close: () => agent.destroy(),
  }
}
