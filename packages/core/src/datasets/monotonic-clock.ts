/**
 * A clock for row versions: RFC 3339 UTC with microseconds, strictly increasing within
 * the process even when called twice in one microsecond or when the wall clock steps
 * back. ReplacingMergeTree keeps the highest version, so two changes of one row must
 * never carry the same time.
 */
export function createMonotonicClock(now: () => number = Date.now): () => string {
  let last = 0n
  return () => {
    let micros = BigInt(Math.floor(now())) * 1000n
    if (micros <= last) micros = last + 1n
    last = micros
    return formatMicros(micros)
  }
}

/** Unix microseconds as RFC 3339 UTC with six fractional digits. */
export function formatMicros(micros: bigint): string {
  const iso = new Date(Number(micros / 1000n)).toISOString()
  return `${iso.slice(0, 19)}.${(micros % 1_000_000n).toString().padStart(6, '0')}Z`
}
