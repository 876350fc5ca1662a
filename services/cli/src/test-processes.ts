import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const repoRoot = join(import.meta.dirname, '../../..')

/** A process started by a test, with its stderr kept for failure messages. */
export interface TestProcess {
  child: ChildProcess
  output(): string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string | null>
  /** SIGKILL at once: a crash, nothing drained. */
  kill(): Promise<void>
}

function track(child: ChildProcess): TestProcess {
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  )
  return {
    child,
    output: () => output,
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      const result = await exited
      clearTimeout(timer)
      return result
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await exited
    },
  }
}

async function waitFor(
  process: TestProcess,
  pattern: RegExp,
  what: string,
  timeoutMs = 60_000,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const match = pattern.exec(process.output())
    if (match) return match
    if (process.child.exitCode !== null) throw new Error(`${what} exited early:\n${process.output()}`)
    if (Date.now() > deadline)
      throw new Error(`${what} was not ready within ${timeoutMs} ms:\n${process.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

let noRules: string | undefined
/** An empty rules directory shared by the processes of a test file that names none. */
function emptyRulesDir(): string {
  noRules ??= mkdtempSync(join(tmpdir(), 'spansift-no-rules-'))
  return noRules
}

/** Starts `spansift start --role …` as its own process and waits for its "started" log line. */
export async function startSpansiftProcess(
  roles: string[],
  env: Record<string, string>,
): Promise<TestProcess> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'services/cli/src/main.ts'), 'start', ...roles.flatMap((role) => ['--role', role])],
    {
      // An ephemeral ops port unless the test names one: several processes run side by side.
      env: {
        PATH: process.env.PATH ?? '',
        SPANSIFT_LOG_LEVEL: 'info',
        SPANSIFT_METRICS_PORT: '0',
        SPANSIFT_RULES_DIR: emptyRulesDir(),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const tracked = track(child)
  try {
    await waitFor(tracked, /"msg":"spansift started"/, `spansift --role ${roles.join(',')}`)
  } catch (error) {
    // A process that never became ready is not left running (it would keep the test alive).
    await tracked.kill()
    throw error
  }
  return tracked
}

/** Starts the ClickHouse HTTP server over the embedded engine on `dataDir`; resolves with its URL. */
export async function startClickHouseProcess(
  dataDir: string,
  port = 0,
): Promise<{ process: TestProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'packages/clickhouse/src/chdb-http-server-main.ts'),
      '--data-dir',
      dataDir,
      '--port',
      String(port),
    ],
    { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const tracked = track(child)
  const match = await waitFor(tracked, /listening (http:\/\/\S+)/, 'the ClickHouse HTTP server')
  return { process: tracked, url: match[1]! }
}
