/**
 * Integers past ±(2^53−1) in JSON, exactly. spansift writes every integer attribute value
 * as a JSON number with its exact digits, whatever its size (one rule, documented in the
 * README). A JS number cannot hold an int64 past 2^53, so such a value is held as a
 * `JSON.rawJSON` object: `JSON.stringify` writes its digits as a number literal, and
 * `parseJsonExact` reads it back the same way.
 */

/** An integer attribute value beyond ±(2^53−1): `JSON.rawJSON('9223372036854775807')`. */
export interface ExactInteger {
  readonly rawJSON: string
}

// Node 24 (V8 11.4+) has both; TypeScript's es2024 lib does not declare them yet.
const json = JSON as typeof JSON & {
  rawJSON(text: string): ExactInteger
  isRawJSON(value: unknown): value is ExactInteger
}

type SourceContext = { source?: string }

/** An int64 as a JS number when it is safe, else as an ExactInteger. */
export function exactInteger(value: bigint): number | ExactInteger {
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : json.rawJSON(value.toString())
}

/** True for an integer held exactly (beyond ±(2^53−1)). */
export function isExactInteger(value: unknown): value is ExactInteger {
  return json.isRawJSON(value)
}

/** The integer an ExactInteger holds. */
export function exactIntegerValue(value: ExactInteger): bigint {
  return BigInt(value.rawJSON)
}

const INTEGER = /^-?\d+$/
const LONG_DIGITS = /\d{16}/

/**
 * JSON.parse, except that an integer literal past ±(2^53−1) comes back as an ExactInteger;
 * `reviver`, when given, then sees every value as JSON.parse's would.
 */
export function parseJsonExact(text: string, reviver?: (key: string, value: unknown) => unknown): unknown {
  // An integer past 2^53 has at least 16 digits; without such a run, the plain parse is
  // exact, and a reviver on every text would make it 6 times slower (load-tests/exact-json-benchmark.ts:
  // 2,000 stored GenAI spans parse in 3.1 ms either way, 18.0 ms with a reviver on every text; 2-core Xeon, Node 24).
  if (!LONG_DIGITS.test(text)) return reviver ? JSON.parse(text, reviver) : JSON.parse(text)
  return JSON.parse(text, function (this: unknown, key: string, value: unknown, context?: SourceContext) {
    const exact =
      typeof value === 'number' &&
      !Number.isSafeInteger(value) &&
      context?.source !== undefined &&
      INTEGER.test(context.source)
        ? json.rawJSON(context.source)
        : value
    return reviver ? reviver.call(this, key, exact) : exact
  } as (key: string, value: unknown) => unknown)
}
