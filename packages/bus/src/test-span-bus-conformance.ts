import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { retry } from '@spansift/core/retry'
import type { Span } from '@spansift/core/span-model'
import type { SpanBus } from './span-bus.ts'

/** A span with fresh random ids and a recent start, as a receiver would publish it. */
export function conformanceSpan(overrides: Partial<Span> = {}): Span {
  const start = BigInt(Date.now()) * 1_000_000n
  return {
    applicationId: '3c90c3cc-0d44-4b50-8888-8dd25736052a',
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    parentSpanId: '',
    traceState: '',
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: start,
    endTimeUnixNano: start + 1_000_000n,
    durationNano: 1_000_000n,
    statusCode: 0,
    statusMessage: '',
    serviceName: 'svc',
    scopeName: 'scope',
    scopeVersion: '1',
    resourceAttributes: { 'service.name': 'svc' },
    attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 7, nested: { a: [1, 'b'] } },
    events: [],
    links: [],
    flags: 0,
    ...overrides,
  }
}

async function eventually(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Publishes like an exporter: retries while the bus refuses, bounded in attempts. */
function publishWithRetry(bus: SpanBus, spans: Span[]): Promise<void> {
  return retry(() => bus.publish(spans), { retries: 50, minDelayMs: 50, maxDelayMs: 200 })
}

const sortById = (spans: readonly Span[]) => [...spans].sort((a, b) => a.spanId.localeCompare(b.spanId))

/**
 * The behaviour every SpanBus adapter shares; each adapter's test file runs it. `makeBus`
 * returns a fresh, unstarted bus (on its own topic, for Kafka).
 */
export function spanBusConformance(name: string, makeBus: () => SpanBus): void {
  test(`${name}: every group receives every published span, intact`, async () => {
    const bus = makeBus()
    const seen = { a: [] as Span[], b: [] as Span[] }
    bus.subscribe('group-a', async (spans) => {
      seen.a.push(...spans)
    })
    bus.subscribe('group-b', async (spans) => {
      seen.b.push(...spans)
    })
    await bus.start()
    try {
      const trace = randomBytes(16).toString('hex')
      const published = [
        conformanceSpan({ traceId: trace }),
        conformanceSpan({ traceId: trace, parentSpanId: 'aaaaaaaaaaaaaaaa' }),
        conformanceSpan(),
      ]
      await bus.publish(published)
      await eventually(() => seen.a.length >= 3 && seen.b.length >= 3, 'both groups saw the spans')
      assert.deepEqual(sortById(seen.a), sortById(published))
      assert.deepEqual(sortById(seen.b), sortById(published))
    } finally {
      await bus.shutdown()
    }
  })

  test(`${name}: a span acknowledged while a handler fails is still handled once it recovers`, async () => {
    const bus = makeBus()
    let failures = 3
    const handled: Span[] = []
    bus.subscribe('flaky', async (spans) => {
      if (failures > 0) {
        failures--
        throw new Error('storage down')
      }
      handled.push(...spans)
    })
    await bus.start()
    try {
      const span = conformanceSpan()
      await publishWithRetry(bus, [span])
      await eventually(() => handled.some((s) => s.spanId === span.spanId), 'the span was handled')
    } finally {
      await bus.shutdown()
    }
  })

  test(`${name}: refuses to publish before start and after shutdown`, async () => {
    const bus = makeBus()
    bus.subscribe('g', async () => {})
    await assert.rejects(bus.publish([conformanceSpan()]), { name: 'BusUnavailableError' })
    await bus.start()
    assert.equal(await bus.ready(), true, 'a started bus is ready')
    await bus.shutdown()
    await assert.rejects(bus.publish([conformanceSpan()]), { name: 'BusUnavailableError' })
  })
}
