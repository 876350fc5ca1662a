import { Buffer } from 'node:buffer'

/** Initial scratch size: most single-trace messages fit without growing. */
const INITIAL_CAPACITY = 64 * 1024
/** A scratch buffer grown past this by one huge message is dropped afterwards, not kept forever. */
const MAX_RETAINED_CAPACITY = 16 * 1024 * 1024

/**
 * Writes protobuf wire format into a growable scratch buffer. Nested messages reserve room for
 * their length prefix and, when the body turns out to need a different one, shift once:
 * cheaper than a separate sizing pass over every string, and the output stays canonical.
 *
 * Encoding is synchronous, so one writer (and its scratch buffer) is shared by all callers.
 */
export class ProtobufWriter {
  private buf: Uint8Array
  private text: Buffer
  private view: DataView
  /** Position of the next byte to write. */
  pos = 0

  constructor() {
    const bytes = new Uint8Array(INITIAL_CAPACITY)
    this.buf = bytes
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.view = new DataView(bytes.buffer)
  }

  /** Starts a new message, reusing the scratch buffer. */
  reset(): void {
    this.pos = 0
  }

  /** A copy of what was written since `reset()`, as a plain Uint8Array. */
  finish(): Uint8Array {
    const out = this.buf.slice(0, this.pos)
    if (this.buf.byteLength > MAX_RETAINED_CAPACITY) this.replace(new Uint8Array(INITIAL_CAPACITY))
    this.pos = 0
    return out
  }

  private replace(bytes: Uint8Array): void {
    this.buf = bytes
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.view = new DataView(bytes.buffer)
  }

  /** Makes room for `n` more bytes. */
  private ensure(n: number): void {
    const needed = this.pos + n
    if (needed <= this.buf.byteLength) return
    let capacity = this.buf.byteLength * 2
    while (capacity < needed) capacity *= 2
    const grown = new Uint8Array(capacity)
    grown.set(this.buf.subarray(0, this.pos))
    this.replace(grown)
  }

  /** An unsigned varint below 2^32 (tags, lengths, uint32 fields). */
  uint32(value: number): void {
    this.ensure(5)
    const bytes = this.buf
    let pos = this.pos
    let v = value >>> 0
    while (v > 0x7f) {
      bytes[pos++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    bytes[pos++] = v
    this.pos = pos
  }

  /** An int32/enum varint: negative values are sign-extended to 10 bytes, as the spec requires. */
  int32(value: number): void {
    if (value >= 0) this.uint32(value)
    else this.int64(BigInt(value))
  }

  /** An int64 varint (two's complement for negative values). */
  int64(value: bigint): void {
    if (value >= 0n && value <= 0xffffffffn) {
      this.uint32(Number(value))
      return
    }
    const unsigned = BigInt.asUintN(64, value)
    let lo = Number(unsigned & 0xffffffffn)
    let hi = Number(unsigned >> 32n)
    this.ensure(10)
    const bytes = this.buf
    let pos = this.pos
    // Seven bits at a time from the 64-bit value held as two unsigned 32-bit halves.
    while (hi > 0 || lo > 0x7f) {
      bytes[pos++] = (lo & 0x7f) | 0x80
      lo = ((lo >>> 7) | (hi << 25)) >>> 0
      hi >>>= 7
    }
    bytes[pos++] = lo
    this.pos = pos
  }

  /** A fixed32, little-endian. */
  fixed32(value: number): void {
    this.ensure(4)
    this.view.setUint32(this.pos, value >>> 0, true)
    this.pos += 4
  }

  /** A fixed64, little-endian (the value is taken modulo 2^64). */
  fixed64(value: bigint): void {
    this.ensure(8)
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, value), true)
    this.pos += 8
  }

  /** A double, little-endian IEEE 754. */
  double(value: number): void {
    this.ensure(8)
    this.view.setFloat64(this.pos, value, true)
    this.pos += 8
  }

  /** A length-delimited UTF-8 string. */
  string(value: string): void {
    const length = value.length
    if (length < 0x80) {
      // ASCII of fewer than 128 chars (keys, names, model ids…): a JS loop beats two native
      // calls, and the one-byte length prefix is known up front.
      this.ensure(1 + length)
      const buf = this.buf
      const start = this.pos
      let pos = start + 1
      let i = 0
      for (; i < length; i++) {
        const c = value.charCodeAt(i)
        if (c >= 0x80) break
        buf[pos++] = c
      }
      if (i === length) {
        buf[start] = length
        this.pos = pos
        return
      }
    }
    // Reserve the prefix for the worst case (3 UTF-8 bytes per UTF-16 unit), let Node encode
    // natively in one call, then close the gap if the prefix turned out shorter.
    const maxBytes = length * 3
    const reserved = varintSize(maxBytes)
    this.ensure(reserved + maxBytes)
    const start = this.pos
    const written = this.text.write(value, start + reserved, maxBytes, 'utf8')
    const prefix = varintSize(written)
    if (prefix < reserved) this.buf.copyWithin(start + prefix, start + reserved, start + reserved + written)
    writeVarint(this.buf, start, written)
    this.pos = start + prefix + written
  }

  /** A length-delimited bytes field. */
  bytes(value: Uint8Array): void {
    this.uint32(value.byteLength)
    this.ensure(value.byteLength)
    this.buf.set(value, this.pos)
    this.pos += value.byteLength
  }

  /**
   * Starts a length-delimited nested message, reserving `prefixBytes` for its length (pass 2
   * for messages usually 128–16383 bytes long, like spans, to spare the shift); pass the
   * result to `endMessage`.
   */
  beginMessage(prefixBytes = 1): number {
    this.ensure(prefixBytes)
    const start = this.pos
    this.pos += prefixBytes
    return start * 8 + prefixBytes
  }

  /** Ends a nested message begun by `beginMessage`, writing its length prefix. */
  endMessage(token: number): void {
    const reserved = token & 7
    const start = (token - reserved) / 8
    const bodyStart = start + reserved
    const length = this.pos - bodyStart
    const prefix = varintSize(length)
    if (prefix !== reserved) {
      // The body moves by the difference, right (longer prefix) or left (shorter prefix).
      this.ensure(Math.max(0, prefix - reserved))
      this.buf.copyWithin(start + prefix, bodyStart, this.pos)
      this.pos += prefix - reserved
    }
    writeVarint(this.buf, start, length)
  }
}

/** Bytes a varint of `value` (below 2^32) takes. */
function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5
}

/** Writes `value` (below 2^32) as a varint at `pos`. */
function writeVarint(buf: Uint8Array, pos: number, value: number): void {
  let v = value >>> 0
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80
    v >>>= 7
  }
  buf[pos] = v
}
