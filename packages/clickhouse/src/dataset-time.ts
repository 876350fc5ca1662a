/** ClickHouse's `YYYY-MM-DD hh:mm:ss[.fff…]` (UTC) as RFC 3339 with a `Z`. */
export function clickhouseTimeToRfc3339(text: string): string {
  return `${text.replace(' ', 'T')}Z`
}

/** RFC 3339 UTC (`…Z`) in the form ClickHouse parses as a DateTime64 parameter. */
export function rfc3339ToClickhouseTime(text: string): string {
  return text.replace('T', ' ').replace(/Z$/, '')
}
