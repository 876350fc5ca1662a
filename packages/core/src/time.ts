/**
 * The one time format of spansift's API and exports: RFC 3339 in UTC with a `Z`.
 * Span times (start, end, events, and what is copied from them: a row's
 * `source.span_start_time`, a backfill's range) keep their nanoseconds, nine fractional
 * digits; record times (created, updated, published, claimed, expires, job and reload
 * times) have three (milliseconds). Conversions are exact to the nanosecond.
 */

const NANOS_PER_MILLI = 1_000_000n

/** Formats Unix nanoseconds as RFC 3339 UTC with nine fractional digits. */
export function formatRfc3339Nano(unixNano: bigint): string {
  const millis = unixNano / NANOS_PER_MILLI
  const iso = new Date(Number(millis)).toISOString() // 2026-11-22T10:00:00.123Z
  const subMilli = (unixNano % NANOS_PER_MILLI).toString().padStart(6, '0')
  return `${iso.slice(0, -1)}${subMilli}Z`
}

/**
 * Formats a record time as RFC 3339 UTC with milliseconds (`2026-12-02T03:01:16.410Z`):
 * from a Date, or from RFC 3339 text of any precision and offset (finer digits are dropped).
 * Null (a time not reached yet) stays null. Throws on text that is not RFC 3339: a record
 * time is written by spansift, never by a user.
 */
export function formatRfc3339Millis(time: Date | string): string
export function formatRfc3339Millis(time: Date | string | null): string | null
export function formatRfc3339Millis(time: Date | string | null): string | null {
  if (time === null) return null
  if (time instanceof Date) return time.toISOString()
  const unixNano = parseRfc3339Nano(time)
  if (unixNano === undefined) throw new TypeError(`not an RFC 3339 time: ${JSON.stringify(time)}`)
  const millis = unixNano / NANOS_PER_MILLI - (unixNano % NANOS_PER_MILLI < 0n ? 1n : 0n)
  return new Date(Number(millis)).toISOString()
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/

/**
 * Parses RFC 3339 text (any offset, up to nanosecond precision) into Unix nanoseconds.
 * Returns undefined for anything else, so callers can answer with their own error.
 */
export function parseRfc3339Nano(text: string): bigint | undefined {
  const match = RFC3339.exec(text)
  if (!match) return undefined
  const [, date, clock, fraction = '', zone] = match
  const offset = zone === 'Z' || zone === 'z' ? 'Z' : zone
  const millis = Date.parse(`${date}T${clock}${offset}`)
  if (Number.isNaN(millis)) return undefined
  const nanosOfSecond = BigInt(fraction.padEnd(9, '0'))
  return BigInt(millis) * NANOS_PER_MILLI + nanosOfSecond
}

/** Nanoseconds in one day, for range limits. */
export const NANOS_PER_DAY = 86_400n * 1_000_000_000n
