import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Message of an error and of its causes (kafkajs and @platformatic/kafka both nest them). */
export function errorMessage(err: unknown): string {
  const parts: string[] = []
  let cur: unknown = err
  for (let depth = 0; cur !== undefined && cur !== null && depth < 4; depth++) {
    if (cur instanceof Error) {
      const code = (cur as { code?: unknown }).code
      const type = (cur as { type?: unknown }).type
      const tag = [cur.name, typeof code === 'string' ? code : '', typeof type === 'string' ? type : '']
        .filter(Boolean)
        .join('/')
      parts.push(`${tag}: ${cur.message}`)
      const nested = (cur as { errors?: unknown }).errors
      if (Array.isArray(nested) && nested.length > 0 && !(cur as { cause?: unknown }).cause) {
        cur = nested[0]
        continue
      }
      cur = (cur as { cause?: unknown }).cause
    } else {
      parts.push(String(cur))
      break
    }
  }
  return parts.join(' <- ').slice(0, 600)
}

export class TimeoutError extends Error {
  override name = 'TimeoutError'
}

/** Rejects with TimeoutError after `ms`; the original promise keeps running. */
export function withTimeout<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${label}: no result after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Polls `condition` every `intervalMs` until it holds; throws TimeoutError after `ms`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  ms: number,
  label: string,
  intervalMs = 50,
): Promise<number> {
  const start = performance.now()
  while (performance.now() - start < ms) {
    if (await condition()) return performance.now() - start
    await sleep(intervalMs)
  }
  throw new TimeoutError(`${label}: not reached within ${ms} ms`)
}

export const traceId = () => randomBytes(16).toString('hex')

/**
 * A span-like JSON document padded to exactly `size` bytes (default 700), the size of a
 * typical OTLP span once flattened to JSON.
 */
export function spanValue(trace: string, seq: number, size = 700): Buffer {
  const doc = JSON.stringify({
    traceId: trace,
    spanId: randomBytes(8).toString('hex'),
    seq,
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
    attributes: { 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o', pad: '' },
  })
  const padLen = Math.max(0, size - Buffer.byteLength(doc))
  const padded = doc.replace('"pad":""', `"pad":"${randomBytes(padLen).toString('base64').slice(0, padLen)}"`)
  return Buffer.from(padded).subarray(0, size)
}

export interface MachineInfo {
  cpuModel: string
  cores: number
  memoryGiB: number
  os: string
  node: string
  kafkaBroker: string
}

/** Kafka version of the broker that deploy/kafka fetched, when it sits beside this file. */
function brokerVersion(): string {
  try {
    const lib = fileURLToPath(new URL('../../deploy/kafka/target/lib/', import.meta.url))
    const jar = readdirSync(lib).find((f) => /^kafka_2\.13-.*\.jar$/.test(f))
    return jar ? `Apache Kafka ${jar.replace(/^kafka_2\.13-|\.jar$/g, '')} (deploy/kafka)` : 'unknown'
  } catch {
    return 'unknown'
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    kafkaBroker: brokerVersion(),
  }
}

/** Runs deploy/kafka/kafka.sh (or $SPANSIFT_KAFKA_CTL) with a time bound. */
export function brokerCtl(args: string[], timeoutMs = 90_000): Promise<string> {
  const script =
    process.env['SPANSIFT_KAFKA_CTL'] ??
    fileURLToPath(new URL('../../deploy/kafka/kafka.sh', import.meta.url))
  const dir = process.env['SPANSIFT_KAFKA_DIR']
  const fullArgs = dir ? [...args, '--dir', dir] : args
  return new Promise((resolve, reject) => {
    execFile(
      script,
      fullArgs,
      { timeout: timeoutMs, env: { ...process.env, CI: 'true' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${script} ${fullArgs.join(' ')} failed: ${err.message}\n${stderr}`))
        else resolve(stdout.trim())
      },
    )
  })
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
