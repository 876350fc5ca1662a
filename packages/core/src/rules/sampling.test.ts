import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { createSampler, isSampled, sampledSql, samplingThreshold, traceRandomness } from './sampling.ts'

const idWith = (randomness: bigint) => `ffffffffffffffffff${randomness.toString(16).padStart(14, '0')}`

test('the threshold is round(rate × 2^56), exactly', () => {
  assert.equal(samplingThreshold(1), 2n ** 56n)
  assert.equal(samplingThreshold(0.5), 2n ** 55n)
  assert.equal(samplingThreshold(0.1), 7205759403792794n) // 0.1 × 2^56 = 7205759403792793.6
  assert.equal(samplingThreshold(2 ** -56), 1n)
  assert.equal(samplingThreshold(1 - 2 ** -53), 2n ** 56n - 8n)
  for (const bad of [0, -0.1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => samplingThreshold(bad), RangeError, String(bad))
  }
})

test('sampled iff the rightmost 56 bits are below the threshold', () => {
  const t = samplingThreshold(0.3)
  assert.equal(isSampled(idWith(t - 1n), 0.3), true)
  assert.equal(isSampled(idWith(t), 0.3), false)
  assert.equal(isSampled(idWith(0n), 2 ** -56), true)
  assert.equal(isSampled(idWith(1n), 2 ** -56), false)
  assert.equal(isSampled(idWith(2n ** 56n - 1n), 1), true)
  // Only the last 14 hex digits count.
  assert.equal(isSampled(`00000000000000000${'0'}${(t - 1n).toString(16).padStart(14, '0')}`, 0.3), true)
  assert.equal(traceRandomness('0af7651916cd43dd8448eb211c80319c'), 0x48eb211c80319cn)
})

test('the fast sampler agrees with exact integer arithmetic', () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }),
      fc.oneof(
        fc.double({ min: 2 ** -60, max: 1, noNaN: true }),
        fc.constantFrom(0.5, 0.25, 1, 2 ** -56, 0.1),
      ),
      fc.boolean(),
      (id, rate, nearThreshold) => {
        let traceId = id.toString(16).padStart(32, '0')
        if (nearThreshold) {
          // Ids right at the threshold, where a float comparison would go wrong.
          const r = samplingThreshold(rate) - 1n + (id % 3n)
          traceId = traceId.slice(0, 18) + (r < 0n ? 0n : r % 2n ** 56n).toString(16).padStart(14, '0')
        }
        const expected = traceRandomness(traceId) < samplingThreshold(rate)
        assert.equal(createSampler(rate)(traceId), expected)
        assert.equal(createSampler(rate)(traceId.toUpperCase()), expected)
      },
    ),
    { numRuns: 5000 },
  )
})

test('the SQL condition holds literal integers only', () => {
  assert.equal(sampledSql(1), '1')
  assert.equal(
    sampledSql(0.5),
    'reinterpretAsUInt64(reverse(unhex(substring(trace_id, 19, 14)))) < 36028797018963968',
  )
  assert.throws(() => sampledSql(0), RangeError)
})
