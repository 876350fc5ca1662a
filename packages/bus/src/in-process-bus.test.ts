import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Span } from '@spansift/core/span-model'
import { createInProcessBus } from './in-process-bus.ts'
import { BusUnavailableError } from './span-bus.ts'
import { spanBusConformance } from './test-span-bus-conformance.ts'

const spans = (n: number) => Array.from({ length: n }, (_, i) => ({ spanId: String(i) }) as unknown as Span)

test('publish resolves only after every group has handled the spans', async () => {
  const bus = createInProcessBus({ maxInFlightSpans: 100, maxInFlightBytes: 1 << 20 })
  const seen: string[] = []
  bus.subscribe('a', async (batch) => {
    await new Promise((r) => setTimeout(r, 20))
    seen.push(`a:${batch.length}`)
  })
  bus.subscribe('b', async (batch) => {
    seen.push(`b:${batch.length}`)
  })
  await bus.start()
  await bus.publish(spans(3))
  assert.deepEqual(seen.sort(), ['a:3', 'b:3'])
})

test('a handler failure fails the publish, so the sender is not told the spans are stored', async () => {
  const bus = createInProcessBus({ maxInFlightSpans: 100, maxInFlightBytes: 1 << 20 })
  bus.subscribe('a', async () => {
    throw new Error('storage down')
  })
  await bus.start()
  await assert.rejects(bus.publish(spans(1)), /storage down/)
  assert.equal(bus.inFlightSpans, 0)
})

test('past the in-flight bound publish refuses with a retryable error instead of queueing', async () => {
  const bus = createInProcessBus({ maxInFlightSpans: 10, maxInFlightBytes: 1 << 20 })
  let release!: () => void
  const gate = new Promise<void>((r) => {
    release = r
  })
  bus.subscribe('slow', () => gate)
  await bus.start()
  const first = bus.publish(spans(8))
  await assert.rejects(bus.publish(spans(5)), (error: unknown) => {
    assert.ok(error instanceof BusUnavailableError)
    assert.equal(error.reason, 'overloaded')
    return true
  })
  release()
  await first
  await bus.publish(spans(5))
})

test('past the in-flight byte bound publish refuses, however few the spans: a few huge spans cannot take GBs', async () => {
  const bus = createInProcessBus({ maxInFlightSpans: 100_000, maxInFlightBytes: 40 << 20 })
  let release!: () => void
  const gate = new Promise<void>((r) => {
    release = r
  })
  bus.subscribe('slow', () => gate)
  await bus.start()
  const first = bus.publish(spans(1), 16 << 20)
  const second = bus.publish(spans(1), 16 << 20)
  assert.equal(bus.inFlightBytes, 32 << 20)
  await assert.rejects(bus.publish(spans(1), 16 << 20), (error: unknown) => {
    assert.ok(error instanceof BusUnavailableError)
    assert.equal(error.reason, 'overloaded')
    assert.match(error.message, /too many bytes in flight/)
    return true
  })
  release()
  await Promise.all([first, second])
  assert.equal(bus.inFlightBytes, 0)
  // Alone, an export over the bound still goes through: the body limit bounds it.
  const fresh = createInProcessBus({ maxInFlightSpans: 100_000, maxInFlightBytes: 1 << 20 })
  fresh.subscribe('fast', async () => {})
  await fresh.start()
  await fresh.publish(spans(1), 16 << 20)
})

test('refuses before start and after shutdown', async () => {
  const bus = createInProcessBus({ maxInFlightSpans: 10, maxInFlightBytes: 1 << 20 })
  await assert.rejects(bus.publish(spans(1)), BusUnavailableError)
  await bus.start()
  await bus.shutdown()
  await assert.rejects(bus.publish(spans(1)), BusUnavailableError)
})

spanBusConformance('in-process', () =>
  createInProcessBus({ maxInFlightSpans: 10_000, maxInFlightBytes: 64 << 20 }),
)
