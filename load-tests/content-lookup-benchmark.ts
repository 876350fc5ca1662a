/**
 * Content lookup benchmark: what the span writer pays, per batch of GenAI spans, to find
 * the content events (OTLP log records) stored before them (content-attacher.ts). Opens an
 * embedded ClickHouse in a temporary directory, stores STORED content events (one per span,
 * 1 ms apart), then times, for batches of 1,000 and 20,000 spans of which 10% have content:
 * the first question (any event of the application within a few minutes of the batch?) and the span
 * lookup for all the batch's spans. Medians of 9 runs.
 *
 *   STORED=50000 node --conditions=spansift-test load-tests/content-lookup-benchmark.ts
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStorage } from '@spansift/clickhouse/storage'
import { silentLogger } from '@spansift/core/logger'
import type { SpanContentEvent } from '@spansift/core/span-content-event'
import { machineDescription } from './bench-util.ts'

const STORED = Number(process.env.STORED ?? 50_000)
const APP = '3c90c3cc-0d44-4b50-8888-8dd25736052a'
const hex = (n: number) => randomBytes(n).toString('hex')
const median = (times: number[]) => times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!.toFixed(1)

console.log(`machine: ${machineDescription()}`)
const dir = mkdtempSync(join(tmpdir(), 'content-lookup-'))
const storage = await openStorage({
  dataDir: dir,
  logger: silentLogger,
  migrate: true,
  spanRetentionDays: 30,
})
try {
  const now = BigInt(Date.now()) * 1_000_000n
  const events: SpanContentEvent[] = Array.from({ length: STORED }, (_, i) => ({
    applicationId: APP,
    traceId: hex(16),
    spanId: hex(8),
    timeUnixNano: now - BigInt(i) * 1_000_000n,
    sequence: 0,
    name: 'gen_ai.user.message',
    attributes: { body: { content: 'x'.repeat(200) } },
  }))
  for (let i = 0; i < events.length; i += 10_000)
    await storage.contentEvents.insert(events.slice(i, i + 10_000))
  const wide = { fromUnixNano: now - 86_400_000_000_000n, toUnixNano: now + 86_400_000_000_000n }
  const window = { fromUnixNano: now - 360_000_000_000n, toUnixNano: now + 300_000_000_000n }
  for (const n of [1_000, 20_000]) {
    const lookups: number[] = []
    const prechecks: number[] = []
    for (let run = 0; run < 9; run++) {
      const refs = Array.from({ length: n }, (_, i) =>
        i % 10 === 0 && i < STORED
          ? { traceId: events[i]!.traceId, spanId: events[i]!.spanId }
          : { traceId: hex(16), spanId: hex(8) },
      )
      let t = performance.now()
      await storage.contentEvents.hasEventsInRange(APP, window)
      prechecks.push(performance.now() - t)
      t = performance.now()
      await storage.contentEvents.findForSpans(APP, refs, wide)
      lookups.push(performance.now() - t)
    }
    console.log(
      `${n} spans, ${STORED} events stored: first question ${median(prechecks)} ms, span lookup ${median(lookups)} ms (medians)`,
    )
  }
} finally {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
}
