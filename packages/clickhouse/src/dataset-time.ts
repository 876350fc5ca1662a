/** ClickHouse's `YYYY-MM-DD hh:mm:ss[.fff…]` (UTC) as RFC 3339 with a `Z`. */
export function clickhouseTimeToRfc3339(text: string): string {
  return `${text.replace(' ', 'T')}Z`
}

/** RFC 3339 UTC (`…Z`) in the form ClickHouse parses as a DateTime64 parameter. */
export function rfc3339ToClickhouseTime(text: string): string {
  return text.replace('T', ' ').replace(/Z$/, '')
}

/**
 * SQL for a `DateTime64(p, 'UTC')` column as RFC 3339 text with its stored `p` fractional
 * digits and a `Z`: the same text `clickhouseTimeToRfc3339` makes, and the same as the API's
 * (core/time.ts) for 9 (span times) and 3 (record times). `formatDateTime`'s `%f` is not
 * used: it prints six digits whatever the scale, losing nanoseconds.
 */
export const rfc3339Sql = (column: string): string =>
  `concat(replaceOne(toString(${column}, 'UTC'), ' ', 'T'), 'Z')`
