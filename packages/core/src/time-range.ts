import { ErrorCode, SpansiftError } from './error-codes.ts'
import { NANOS_PER_DAY, parseRfc3339Nano } from './time.ts'

/**
 * The longest range a span lookup may cover. Lookups prune by monthly partition, so a
 * bounded range bounds the partitions read; 93 days touches at most four.
 */
export const MAX_LOOKUP_RANGE_DAYS = 93

export interface NanoTimeRange {
  fromUnixNano: bigint
  toUnixNano: bigint
}

/**
 * Validates a lookup's `[start_time, end_time)` (RFC 3339): both present, start before
 * end, and no longer than `maxDays`. Every refusal names the parameter at fault.
 */
export function parseLookupRange(
  startText: string | undefined,
  endText: string | undefined,
  maxDays: number = MAX_LOOKUP_RANGE_DAYS,
): NanoTimeRange {
  const fromUnixNano = parseBound('start_time', startText)
  const toUnixNano = parseBound('end_time', endText)
  if (fromUnixNano >= toUnixNano) {
    throw new SpansiftError(
      ErrorCode.invalidArgument,
      'start_time must be before end_time (the end is exclusive)',
      {
        start_time: startText,
        end_time: endText,
      },
    )
  }
  if (toUnixNano - fromUnixNano > BigInt(maxDays) * NANOS_PER_DAY) {
    throw new SpansiftError(
      ErrorCode.rangeNotBounded,
      `the time range is longer than ${maxDays} days; narrow start_time..end_time`,
    )
  }
  return { fromUnixNano, toUnixNano }
}

function parseBound(name: string, text: string | undefined): bigint {
  if (text === undefined || text === '') {
    throw new SpansiftError(
      ErrorCode.rangeNotBounded,
      `${name} is required: every span lookup is bounded in time`,
    )
  }
  const value = parseRfc3339Nano(text)
  if (value === undefined) {
    throw new SpansiftError(ErrorCode.invalidArgument, `${name} must be an RFC 3339 timestamp, got "${text}"`)
  }
  return value
}
