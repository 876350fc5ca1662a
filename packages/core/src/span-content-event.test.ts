import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { testSpan } from './datasets/test-span.ts'
import { attachContentEvents, type SpanContentEvent } from './span-content-event.ts'

describe('attachContentEvents', () => {
  const span = testSpan({
    events: [{ timeUnixNano: 20n, name: 'gen_ai.content.prompt', attributes: { 'gen_ai.prompt': 'hi' } }],
  })
  const event = (time: bigint, name: string, spanId = span.spanId): SpanContentEvent => ({
    applicationId: span.applicationId,
    traceId: span.traceId,
    spanId,
    timeUnixNano: time,
    sequence: 0,
    name,
    attributes: { body: { content: name } },
  })

  it("puts the span's own content events among its events in time order, each once", () => {
    const merged = attachContentEvents(span, [
      event(30n, 'gen_ai.choice'),
      event(10n, 'gen_ai.user.message'),
      event(10n, 'gen_ai.user.message'),
      event(5n, 'gen_ai.user.message', 'ffffffffffffffff'),
    ])
    assert.deepEqual(
      merged?.events.map((e) => [e.timeUnixNano, e.name]),
      [
        [10n, 'gen_ai.user.message'],
        [20n, 'gen_ai.content.prompt'],
        [30n, 'gen_ai.choice'],
      ],
    )
    assert.equal(span.events.length, 1, 'the span given is not changed')
  })

  it('says nothing changed when every event is already attached', () => {
    const once = attachContentEvents(span, [event(10n, 'gen_ai.user.message')])!
    assert.equal(attachContentEvents(once, [event(10n, 'gen_ai.user.message')]), undefined)
  })
})
