import { createHash } from 'node:crypto'

/** The namespace of item ids (a fixed random UUID): ids are stable across releases. */
const ITEM_ID_NAMESPACE = Buffer.from('6f1d3c2a9b8e4f70a1c2d3e4f5a6b7c8', 'hex')

/**
 * The id of the row a span becomes in a dataset: a UUID v5 (SHA-1, RFC 9562) over
 * (dataset id, trace id, span id). The same span appended twice, by a retried request,
 * a redelivered message or a rule and the API, is therefore one row.
 */
export function deriveItemId(datasetId: string, traceId: string, spanId: string): string {
  const hash = createHash('sha1')
    .update(ITEM_ID_NAMESPACE)
    .update(`${datasetId.toLowerCase()}\n${traceId.toLowerCase()}\n${spanId.toLowerCase()}`)
    .digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
