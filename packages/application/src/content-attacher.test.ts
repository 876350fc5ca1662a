import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { testSpan } from '@spansift/core/datasets/test-span'
import { silentLogger } from '@spansift/core/logger'
import { type SpanContentEvent, spanKey } from '@spansift/core/span-content-event'
import type { Span } from '@spansift/core/span-model'
import { type ContentAttacherStorage, createContentAttacher } from './content-attacher.ts'

/**
 * Storage as ClickHouse behaves for the attacher: every insert is a new copy, reads see the
 * latest copy of a span; `onNextEventsRead` lets a test run another writer in the gap
 * between a writer's read and its insert.
 */
function memoryStorage() {
  const copies = new Map<string, Span[]>()
  const events: SpanContentEvent[] = []
  let beforeEventsReturned: (() => Promise<void>) | undefined
  const storage: ContentAttacherStorage = {
    contentEvents: {
      insert: async (batch) => {
        events.push(...batch)
      },
      findForSpans: async (applicationId, refs) => {
        const hook = beforeEventsReturned
        beforeEventsReturned = undefined
        const found = events.filter(
          (e) =>
            e.applicationId === applicationId &&
            refs.some((r) => r.traceId === e.traceId && r.spanId === e.spanId),
        )
        await hook?.()
        return found
      },
      hasEventsInRange: async (applicationId) => events.some((e) => e.applicationId === applicationId),
    },
    spans: {
      insert: async (batch) => {
        for (const span of batch) copies.set(spanKey(span), [...(copies.get(spanKey(span)) ?? []), span])
      },
      findByRefs: async (applicationId, refs) =>
        refs
          .map((r) => copies.get(spanKey({ applicationId, ...r }))?.at(-1))
          .filter((s): s is Span => s !== undefined),
    },
  }
  return {
    storage,
    latest: (span: Span) => copies.get(spanKey(span))?.at(-1),
    /** Runs `hook` after the next events read, before its answer reaches the reader. */
    onNextEventsRead(hook: () => Promise<void>) {
      beforeEventsReturned = hook
    },
  }
}

const span = testSpan({ attributes: { 'gen_ai.operation.name': 'chat' } })
const event = (name: string, time: bigint): SpanContentEvent => ({
  applicationId: span.applicationId,
  traceId: span.traceId,
  spanId: span.spanId,
  timeUnixNano: time,
  sequence: 0,
  name,
  attributes: { body: { content: name } },
})

describe('content attacher', () => {
  it('events first: the span stored after them gets them', async () => {
    const memory = memoryStorage()
    const attacher = createContentAttacher({ storage: memory.storage, logger: silentLogger })
    await attacher.storeEvents([event('gen_ai.user.message', 1n)])
    await memory.storage.spans.insert([span])
    await attacher.attachToStoredSpans([span])
    assert.deepEqual(
      memory.latest(span)?.events.map((e) => e.name),
      ['gen_ai.user.message'],
    )
  })

  it('spans without GenAI attributes cost no lookup', async () => {
    const memory = memoryStorage()
    let lookups = 0
    const counting = {
      ...memory.storage,
      contentEvents: {
        ...memory.storage.contentEvents,
        hasEventsInRange: async () => {
          lookups++
          return true
        },
      },
    }
    const attacher = createContentAttacher({ storage: counting, logger: silentLogger })
    await attacher.attachToStoredSpans([testSpan({ attributes: { 'http.route': '/health' } })])
    assert.equal(lookups, 0)
  })

  it('events after a span without GenAI attributes still attach to it', async () => {
    const memory = memoryStorage()
    const attacher = createContentAttacher({ storage: memory.storage, logger: silentLogger })
    const plain = testSpan({ attributes: { 'app.step': 'answer' } })
    await memory.storage.spans.insert([plain])
    await attacher.storeEvents([event('gen_ai.user.message', 1n)])
    assert.deepEqual(
      memory.latest(plain)?.events.map((e) => e.name),
      ['gen_ai.user.message'],
    )
  })

  it('two writers racing on one span: the copy stored last is repaired to hold both events', async () => {
    const memory = memoryStorage()
    const attacher = createContentAttacher({ storage: memory.storage, logger: silentLogger })
    await memory.storage.spans.insert([span])
    // Writer A reads the events, then, before A stores its merged copy, writer B stores its
    // event and its copy: A's copy (stored last) lacks B's event until A reads back.
    memory.onNextEventsRead(() => attacher.storeEvents([event('gen_ai.choice', 2n)]))
    await attacher.storeEvents([event('gen_ai.user.message', 1n)])
    assert.deepEqual(
      memory.latest(span)?.events.map((e) => e.name),
      ['gen_ai.user.message', 'gen_ai.choice'],
    )
  })

  it('for the rule worker: stored spans with the content that just arrived, nothing written', async () => {
    const memory = memoryStorage()
    const attacher = createContentAttacher({ storage: memory.storage, logger: silentLogger })
    await memory.storage.spans.insert([span])
    const [withContent] = await attacher.storedSpansWith([event('gen_ai.user.message', 1n)])
    assert.deepEqual(
      withContent?.events.map((e) => e.name),
      ['gen_ai.user.message'],
    )
    assert.deepEqual(memory.latest(span)?.events, [], 'nothing stored')
  })
})
