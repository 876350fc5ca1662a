import type { NanoTimeRange } from '../time-range.ts'

/** One month partition of the `spans` table (`toYYYYMM(start_time)`, UTC), clipped to a range. */
export interface MonthPartition {
  /** The partition id, `YYYYMM`. */
  partition: number
  /** The half-open part [from, to) of the range inside this month, Unix nanoseconds. */
  fromUnixNano: bigint
  toUnixNano: bigint
}

const NANOS_PER_MILLI = 1_000_000n

/** Division that rounds towards minus infinity (bigint `/` truncates), so instants before 1970 fall in their month. */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q
}

/**
 * Splits a half-open range [from, to) of Unix nanoseconds into the month partitions
 * of `spans`, oldest first, each clipped to the range: a query bounded by one of them
 * reads that partition alone. An empty range (from ≥ to) has none.
 */
export function monthPartitions(range: NanoTimeRange): MonthPartition[] {
  const partitions: MonthPartition[] = []
  let from = range.fromUnixNano
  while (from < range.toUnixNano) {
    const date = new Date(Number(floorDiv(from, NANOS_PER_MILLI)))
    const year = date.getUTCFullYear()
    const month = date.getUTCMonth()
    const nextMonth = BigInt(Date.UTC(year, month + 1, 1)) * NANOS_PER_MILLI
    const to = nextMonth < range.toUnixNano ? nextMonth : range.toUnixNano
    partitions.push({ partition: year * 100 + month + 1, fromUnixNano: from, toUnixNano: to })
    from = to
  }
  return partitions
}
