import type { Attributes, Span } from '@spansift/core/span-model'
import { StorageRejectedError } from '@spansift/core/storage-errors'
import type { RowBinaryColumns } from './chdb-binary-insert.ts'
import { encodeEvents, encodeLinks } from './span-row.ts'

/** The `spans` columns a RowBinary batch carries, in order, with their types. `ingested_at` is left to its DEFAULT. */
export const SPAN_ROW_BINARY_COLUMNS: RowBinaryColumns = [
  ['application_id', 'UUID'],
  ['trace_id', 'FixedString(32)'],
  ['span_id', 'FixedString(16)'],
  ['parent_span_id', 'String'],
  ['trace_state', 'String'],
  ['name', 'String'],
  ['kind', 'UInt8'],
  ['start_time', "DateTime64(9, 'UTC')"],
  ['end_time', "DateTime64(9, 'UTC')"],
  ['duration_ns', 'UInt64'],
  ['status_code', 'UInt8'],
  ['status_message', 'String'],
  ['service_name', 'String'],
  ['scope_name', 'String'],
  ['scope_version', 'String'],
  ['resource_attributes', 'Map(String, String)'],
  ['attributes', 'Map(String, String)'],
  ['events', 'String'],
  ['links', 'String'],
  ['flags', 'UInt32'],
]

const HEX = /^[0-9a-f]*$/

/**
 * Encodes spans as ClickHouse RowBinary rows of SPAN_ROW_BINARY_COLUMNS: the same
 * values spanToRow gives the JSON path (attribute values as their JSON text, events and
 * links as JSON), in the engine's own binary layout, so the engine reads the batch
 * without parsing JSON (see docs/architecture.md, "Embedded insert path", for the figures).
 * A span the columns cannot hold (an id that is not lowercase hex of its length, a
 * start time of 0 or past 2262) is refused with a StorageRejectedError, as the engine refuses such a
 * value in JSON, rather than stored padded, truncated or wrapped.
 */
export function encodeSpansRowBinary(spans: readonly Span[]): Buffer {
  const writer = new RowBinaryWriter(spans.length * 1024)
  for (const span of spans) {
    try {
      writeSpan(writer, span)
    } catch (error) {
      if (!(error instanceof RangeError || error instanceof TypeError)) throw error
      throw new StorageRejectedError(
        `span ${span.traceId}/${span.spanId} cannot be stored: ${error.message}`,
        {
          cause: error,
        },
      )
    }
  }
  return writer.finish()
}

function writeSpan(writer: RowBinaryWriter, span: Span): void {
  writer.uuid(span.applicationId)
  writer.fixedHex(span.traceId, 32, 'trace id')
  writer.fixedHex(span.spanId, 16, 'span id')
  writer.string(span.parentSpanId)
  writer.string(span.traceState)
  writer.string(span.name)
  writer.uint8(span.kind)
  // The engine refuses a start time of 0 (not set) in JSON; refused here the same way.
  if (span.startTimeUnixNano <= 0n) throw new RangeError('start time is not set (0)')
  writer.int64(span.startTimeUnixNano)
  writer.int64(span.endTimeUnixNano)
  writer.uint64(span.durationNano)
  writer.uint8(span.statusCode)
  writer.string(span.statusMessage)
  writer.string(span.serviceName)
  writer.string(span.scopeName)
  writer.string(span.scopeVersion)
  writer.attributes(span.resourceAttributes)
  writer.attributes(span.attributes)
  writer.string(encodeEvents(span.events))
  writer.string(encodeLinks(span.links))
  writer.uint32(span.flags)
}

/** A growable little-endian buffer with the RowBinary encodings spans need. */
class RowBinaryWriter {
  private buffer: Buffer
  private offset = 0
  private lastUuid: string | undefined
  private lastUuidHigh = 0n
  private lastUuidLow = 0n

  constructor(initialBytes: number) {
    this.buffer = Buffer.allocUnsafe(Math.max(initialBytes, 4096))
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.offset)
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes))
    this.buffer.copy(grown, 0, 0, this.offset)
    this.buffer = grown
  }

  uint8(value: number): void {
    this.reserve(1)
    this.buffer[this.offset++] = value
  }

  uint32(value: number): void {
    this.reserve(4)
    this.offset = this.buffer.writeUInt32LE(value, this.offset)
  }

  int64(value: bigint): void {
    this.reserve(8)
    this.offset = this.buffer.writeBigInt64LE(value, this.offset)
  }

  uint64(value: bigint): void {
    this.reserve(8)
    this.offset = this.buffer.writeBigUInt64LE(value, this.offset)
  }

  private varUInt(value: number): void {
    this.reserve(5)
    let rest = value
    while (rest >= 0x80) {
      this.buffer[this.offset++] = (rest & 0x7f) | 0x80
      rest >>>= 7
    }
    this.buffer[this.offset++] = rest
  }

  /** A String: its UTF-8 length as a varint, then the bytes. */
  string(value: string): void {
    const length = value.length
    // Short ASCII strings (most keys, names, ids) are copied by this loop: measured
    // twice as fast as a native Buffer.write call per string (load-tests/store-insert-benchmark.ts).
    if (length < 128) {
      this.reserve(1 + length * 3)
      const buffer = this.buffer
      const start = this.offset + 1
      let i = 0
      for (; i < length; i++) {
        const code = value.charCodeAt(i)
        if (code > 0x7f) break
        buffer[start + i] = code
      }
      if (i === length) {
        buffer[this.offset] = length
        this.offset = start + length
        return
      }
    }
    const bytes = Buffer.byteLength(value, 'utf8')
    this.varUInt(bytes)
    this.reserve(bytes)
    this.offset += this.buffer.write(value, this.offset, 'utf8')
  }

  /** A FixedString(n) of lowercase hex (ASCII: one byte per character). */
  fixedHex(value: string, length: number, what: string): void {
    if (value.length !== length || !HEX.test(value)) {
      throw new TypeError(`${what} must be ${length} lowercase hex characters, got ${JSON.stringify(value)}`)
    }
    this.reserve(length)
    this.offset += this.buffer.write(value, this.offset, 'latin1')
  }

  /** A UUID: its two 64-bit halves, each little-endian, high half first. */
  uuid(value: string): void {
    // A batch is usually one application's: parse its id once.
    if (value !== this.lastUuid) {
      const hex = value.replaceAll('-', '')
      if (!/^[0-9a-fA-F]{32}$/.test(hex)) {
        throw new TypeError(`application id must be a UUID, got ${JSON.stringify(value)}`)
      }
      this.lastUuidHigh = BigInt(`0x${hex.slice(0, 16)}`)
      this.lastUuidLow = BigInt(`0x${hex.slice(16)}`)
      this.lastUuid = value
    }
    this.reserve(16)
    this.offset = this.buffer.writeBigUInt64LE(this.lastUuidHigh, this.offset)
    this.offset = this.buffer.writeBigUInt64LE(this.lastUuidLow, this.offset)
  }

  /** Map(String, String): the entry count, then each key and its value's JSON text. */
  attributes(attributes: Attributes): void {
    const keys = Object.keys(attributes)
    this.varUInt(keys.length)
    for (const key of keys) {
      this.string(key)
      const value = attributes[key]
      if (typeof value !== 'string' || !this.plainJsonString(value)) this.string(JSON.stringify(value))
    }
  }

  /**
   * Writes a string's JSON text (`"…"`) when it is printable ASCII with nothing to
   * escape and short enough for a one-byte length, without building that text first;
   * false (nothing written) otherwise. Most attribute values are such strings.
   */
  private plainJsonString(value: string): boolean {
    const length = value.length
    if (length > 125) return false
    this.reserve(length + 3)
    const buffer = this.buffer
    const start = this.offset + 2
    for (let i = 0; i < length; i++) {
      const code = value.charCodeAt(i)
      if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return false
      buffer[start + i] = code
    }
    buffer[this.offset] = length + 2
    buffer[this.offset + 1] = 0x22
    buffer[start + length] = 0x22
    this.offset = start + length + 1
    return true
  }
}
