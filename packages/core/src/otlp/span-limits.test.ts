import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { normalizeExportTraceRequest } from './normalize.ts'
import type { OtlpSpan } from './otlp-types.ts'
import {
  DEFAULT_SPAN_LIMITS,
  MAX_STORABLE_UNIX_NANO,
  type SpanLimits,
  spanLimitViolation,
} from './span-limits.ts'
import { genAiRequest, genAiSpan, str } from './test-fixtures.ts'

// The fixture span starts 2025-11-22T10:00:00.123Z; "now" is an hour later.
const NOW_MS = 1_763_809_200_000
const limits = DEFAULT_SPAN_LIMITS
const violation = (overrides: Partial<OtlpSpan>, l: Partial<SpanLimits> = {}) =>
  spanLimitViolation(genAiSpan(overrides), { ...limits, ...l }, NOW_MS)
const many = (n: number) => Array.from({ length: n }, (_, i) => str(`k${i}`, 'v'))

describe('spanLimitViolation', () => {
  it('accepts the GenAI fixture span', () => {
    assert.equal(violation({}), undefined)
  })

  it('refuses timestamps storage cannot hold: missing, past 2262, end before start', () => {
    assert.match(violation({ startTimeUnixNano: 0n })!, /start_time_unix_nano is missing/)
    assert.match(violation({ endTimeUnixNano: 0n })!, /end_time_unix_nano is missing/)
    assert.match(
      violation({ endTimeUnixNano: MAX_STORABLE_UNIX_NANO + 1n }, { maxFutureMs: 1e15 })!,
      /past 2262/,
    )
    assert.equal(
      violation(
        { startTimeUnixNano: MAX_STORABLE_UNIX_NANO, endTimeUnixNano: MAX_STORABLE_UNIX_NANO },
        { maxFutureMs: 1e15 },
      ),
      undefined,
    )
    assert.match(violation({ endTimeUnixNano: 1_763_805_600_000_000_000n })!, /before start/)
  })

  it('refuses spans outside the window around now', () => {
    assert.match(violation({}, { maxAgeMs: 60_000 })!, /more than 1 minute in the past/)
    assert.match(
      violation({ endTimeUnixNano: BigInt(NOW_MS + 2 * 3_600_000) * 1_000_000n })!,
      /more than 60 minutes in the future/,
    )
  })

  it('refuses counts and lengths over the SDK-style limits, naming the limit', () => {
    assert.match(violation({ attributes: many(1025) })!, /more than 1024 attributes \(1025\)/)
    assert.equal(violation({ attributes: many(1024) }), undefined)
    assert.match(violation({ name: 'x'.repeat(1025) })!, /name is longer than 1024/)
    const event = { timeUnixNano: 1n, name: 'e', attributes: many(129), droppedAttributesCount: 0 }
    assert.match(violation({ events: [event] })!, /an event has more than 128 attributes/)
    assert.match(
      violation({ events: Array(3).fill({ ...event, attributes: [] }) }, { eventCount: 2 })!,
      /more than 2 events/,
    )
    assert.match(
      violation({ attributes: [str('prompt', 'x'.repeat(11))] }, { attributeValueLength: 10 })!,
      /attribute "prompt" has a value longer than 10/,
    )
    const nested = { type: 'array' as const, value: [{ type: 'string' as const, value: 'x'.repeat(11) }] }
    assert.match(
      violation({ attributes: [{ key: 'list', value: nested }] }, { attributeValueLength: 10 })!,
      /"list"/,
    )
  })
})

describe('normalize with limits', () => {
  it('rejects a span over the limits through partial success and keeps the others', () => {
    const request = genAiRequest([genAiSpan(), genAiSpan({ startTimeUnixNano: 0n })])
    const result = normalizeExportTraceRequest(request, { applicationId: 'a', limits, nowMs: NOW_MS })
    assert.equal(result.spans.length, 1)
    assert.equal(result.rejectedSpans, 1)
    assert.equal(result.rejectionMessage, '1 span rejected: start_time_unix_nano is missing (0)')
  })
})
