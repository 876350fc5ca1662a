import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const script = join(import.meta.dirname, '../../../deploy/kafka/kafka.sh')

/** A free loopback port whose successor is free too (the broker's controller takes port + 1). */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await listenOnce(0)
    if (port < 65535 && (await listenOnce(port + 1).catch(() => 0)) !== 0) return port
  }
  throw new Error('no free pair of loopback ports')
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as { port: number }).port
      server.close(() => resolve(bound))
    })
  })
}

export interface TestBroker {
  brokers: string
  stop(): Promise<void>
  start(): Promise<void>
  destroy(): Promise<void>
}

/**
 * A broker of the test's own (deploy/kafka/kafka.sh), for tests that stop and restart
 * it; its data survive a restart.
 */
export async function startOwnBroker(): Promise<TestBroker> {
  const port = await freePortPair()
  const dir = mkdtempSync(join(tmpdir(), 'spansift-own-kafka-'))
  const start = async () => {
    await run('bash', [script, 'start', '--port', String(port), '--dir', dir], {
      env: { ...process.env, CI: 'true' },
    })
  }
  const stop = async () => {
    await run('bash', [script, 'stop', '--dir', dir])
  }
  await start()
  return {
    brokers: `127.0.0.1:${port}`,
    start,
    stop,
    async destroy() {
      await stop().catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
