/**
 * Deterministic sampling by trace id, the same in JS (streaming) and in SQL (backfill),
 * so a trace is kept or skipped whole and a backfill keeps what streaming kept.
 *
 * OpenTelemetry's consistent-probability convention: the randomness R is the rightmost 56
 * bits of the trace id (its last 14 hex digits); a trace is sampled at rate r iff
 * R < round(r × 2^56). r = 1 keeps every trace. 2^56 is beyond exact doubles (2^53), so R
 * is compared as two 28-bit halves in JS and as a UInt64 in SQL; the threshold is computed
 * exactly once (r × 2^56 is exact in binary floating point, and rounding it stays an
 * integer below 2^57).
 */

const HALF_BITS = 28
const HALF = 2 ** HALF_BITS
const FULL = 2n ** 56n

/** The threshold T = round(rate × 2^56), exact. Throws for a rate outside (0, 1]. */
export function samplingThreshold(rate: number): bigint {
  if (!(rate > 0 && rate <= 1)) throw new RangeError(`a sampling rate is in (0, 1], got ${rate}`)
  // rate × 2^56 only shifts the exponent: exact. Math.round of a double ≥ 2^52 is itself.
  return BigInt(Math.round(rate * 2 ** 56))
}

/** The randomness of a trace id: its last 14 hex digits as an integer (BigInt: for tests and tools). */
export function traceRandomness(traceId: string): bigint {
  return BigInt(`0x${traceId.slice(-14)}`)
}

/** Whether the trace is sampled at this rate (one-off; createSampler for many ids). */
export function isSampled(traceId: string, rate: number): boolean {
  return createSampler(rate)(traceId)
}

/** A fast sampler for one rate: no allocation per trace id. */
export function createSampler(rate: number): (traceId: string) => boolean {
  const threshold = samplingThreshold(rate)
  if (threshold >= FULL) return () => true
  const thresholdHigh = Number(threshold >> BigInt(HALF_BITS))
  const thresholdLow = Number(threshold & BigInt(HALF - 1))
  return (traceId) => {
    const end = traceId.length
    const high = hexValue(traceId, end - 14, end - 7)
    if (high !== thresholdHigh) return high < thresholdHigh
    return hexValue(traceId, end - 7, end) < thresholdLow
  }
}

// 7 hex digits (28 bits) fit a small integer; bad characters read as 0, as unhex would not
// matter: trace ids are validated lowercase hex before they reach a rule.
function hexValue(text: string, from: number, to: number): number {
  let value = 0
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : 0
    value = value * 16 + digit
  }
  return value
}

/**
 * The sampling condition over the `spans` table's `trace_id` (FixedString(32) of lowercase
 * hex): its last 14 hex digits, unhexed to 7 bytes, reversed to little-endian, read as a
 * UInt64. Holds literal integers only (the rate is a number, never user text).
 */
export function sampledSql(rate: number): string {
  const threshold = samplingThreshold(rate)
  if (threshold >= FULL) return '1'
  return `reinterpretAsUInt64(reverse(unhex(substring(trace_id, 19, 14)))) < ${threshold.toString()}`
}
