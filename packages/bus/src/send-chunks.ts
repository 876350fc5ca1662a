/**
 * The most bytes of keys and values one produce request carries. A broker refuses a
 * record batch over its `message.max.bytes` (1 MiB by default) and a request's records
 * for one partition form one batch, so requests stay well under it whatever the
 * partitioning: a backlog (a consumer catching up, a burst of exports) is sent as several.
 */
export const MAX_SEND_BYTES = 512 * 1024

/** Splits messages, in order, into runs of at most `maxBytes` (a larger message travels alone). */
export function chunkBySize<M extends { key: Buffer; value: Buffer }>(
  messages: readonly M[],
  maxBytes: number = MAX_SEND_BYTES,
): M[][] {
  const chunks: M[][] = []
  let current: M[] = []
  let bytes = 0
  for (const message of messages) {
    const size = message.key.byteLength + message.value.byteLength
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current)
      current = []
      bytes = 0
    }
    current.push(message)
    bytes += size
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}
