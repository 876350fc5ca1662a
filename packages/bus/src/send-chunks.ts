/**
 * The most bytes of keys and values one produce request carries (for one partition, when
 * the caller knows the partitions). A broker refuses a record batch over its
 * `message.max.bytes` (1 MiB by default) and a request's records for one partition form
 * one batch, so batches stay well under it: a backlog (a consumer catching up, a burst of
 * exports) is sent as several requests.
 */
export const MAX_SEND_BYTES = 512 * 1024

/**
 * Splits messages, in order, into runs of at most `maxBytes` (a larger message travels
 * alone). With `partitionOf`, the bound holds per partition instead (each partition's
 * records form one batch of the request), so a run may carry up to `maxBytes` for every
 * partition: fewer, larger requests.
 */
export function chunkBySize<M extends { key: Buffer; value: Buffer }>(
  messages: readonly M[],
  maxBytes: number = MAX_SEND_BYTES,
  partitionOf: (message: M) => number = () => 0,
): M[][] {
  const chunks: M[][] = []
  let current: M[] = []
  const bytes = new Map<number, number>()
  for (const message of messages) {
    const size = message.key.byteLength + message.value.byteLength
    const partition = partitionOf(message)
    const partitionBytes = bytes.get(partition) ?? 0
    if (partitionBytes > 0 && partitionBytes + size > maxBytes) {
      chunks.push(current)
      current = []
      bytes.clear()
    }
    current.push(message)
    bytes.set(partition, (bytes.get(partition) ?? 0) + size)
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}
