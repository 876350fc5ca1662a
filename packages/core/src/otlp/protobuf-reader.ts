import { Buffer } from 'node:buffer'
import { OtlpDecodeError } from './decode-error.ts'

/** Protobuf wire types (https://protobuf.dev/programming-guides/encoding/#structure). */
export const WireType = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  startGroup: 3,
  endGroup: 4,
  fixed32: 5,
} as const

/**
 * Nesting limit for recursive messages (AnyValue arrays and kvlists) and groups. Deep
 * enough for any real attribute; shallow enough that a hostile body cannot blow the stack.
 */
export const MAX_NESTING_DEPTH = 64

/** Strings up to this many bytes are decoded by a JS loop when ASCII; past it a native call is cheaper. */
const TINY_STRING_BYTES = 8

/**
 * Attribute keys, and short values (model names, operation names, finish reasons…), repeat in
 * nearly every span. A small direct-mapped cache returns the string decoded last time for the
 * same bytes: hashing and comparing ~25 bytes costs less than decoding them natively, and
 * handing out one string instance per key makes the `attributes[key] = …` stores in
 * normalization hit V8's already-internalized key instead of hashing a fresh string.
 */
const CACHE_SLOTS = 4096
/** Longest string (in bytes) the cache keeps; longer ones are rarely repeated verbatim. */
const CACHE_MAX_BYTES = 64
const cacheBytes = new Uint8Array(CACHE_SLOTS * CACHE_MAX_BYTES)
const cacheLengths = new Int32Array(CACHE_SLOTS).fill(-1)
const cacheStrings: string[] = new Array<string>(CACHE_SLOTS).fill('')

/**
 * A cursor over protobuf wire bytes, with exactly the reads the OTLP trace messages need.
 * Every read checks its bounds, and every failure is an `OtlpDecodeError` naming the offset,
 * so a malformed body can never escape as a RangeError or decode into garbage.
 */
export class ProtobufReader {
  /** The bytes being read (our own Uint8Array view, so `slice` copies even for a Buffer input). */
  readonly buf: Uint8Array
  /** Position of the next byte to read. */
  pos: number
  /** Total length of `buf`. */
  readonly len: number
  private readonly view: DataView
  private readonly text: Buffer

  constructor(bytes: Uint8Array) {
    this.buf = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.pos = 0
    this.len = bytes.byteLength
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    // A zero-copy Buffer over the same memory: its native UTF-8 decoder is the fastest one.
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  /** An `OtlpDecodeError` for the current position. */
  error(what: string): OtlpDecodeError {
    return new OtlpDecodeError(`malformed protobuf: ${what} at offset ${this.pos}`)
  }

  /** A varint that must fit 32 bits (tags, lengths, uint32 fields), as an unsigned number. */
  uint32(): number {
    const b = this.buf[this.pos]!
    // Reading past the end yields undefined, which fails `< 0x80` and takes the checked path.
    if (b < 0x80) {
      this.pos++
      return b
    }
    return this.varint32Slow()
  }

  private varint32Slow(): number {
    const buf = this.buf
    let pos = this.pos
    let value = 0
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= this.len) throw this.error('truncated varint')
      const b = buf[pos++]!
      value |= (b & 0x7f) << shift
      if (b < 0x80) {
        this.pos = pos
        return value >>> 0
      }
    }
    // Longer varints are sign-extended int32s (negative enums): the low 32 bits are the value.
    for (let i = 0; i < 5; i++) {
      if (pos >= this.len) throw this.error('truncated varint')
      if (buf[pos++]! < 0x80) {
        this.pos = pos
        return value >>> 0
      }
    }
    throw this.error('varint longer than 10 bytes')
  }

  /** An int32/enum varint (sign-extended to 10 bytes when negative), as a signed number. */
  int32(): number {
    return this.uint32() | 0
  }

  /** A bool varint. */
  bool(): boolean {
    return this.int64() !== 0n
  }

  /** An int64 varint, exact. */
  int64(): bigint {
    const buf = this.buf
    const start = this.pos
    let pos = start
    let lo = 0
    let hi = 0
    let b = 0
    // Bytes 0–3 carry bits 0–27: the common small values never leave this loop.
    for (let shift = 0; shift < 28; shift += 7) {
      b = buf[pos++]!
      lo |= (b & 0x7f) << shift
      if (b < 0x80) {
        this.pos = pos
        return BigInt(lo)
      }
    }
    if (pos <= this.len) {
      // Byte 4 carries bits 28–34, straddling the two 32-bit halves.
      b = buf[pos++]!
      lo |= (b & 0x0f) << 28
      hi = (b & 0x7f) >> 4
      if (b >= 0x80) {
        for (let shift = 3; shift < 38; shift += 7) {
          b = buf[pos++]!
          hi |= (b & 0x7f) << shift
          if (b < 0x80) break
        }
      }
    }
    if (pos > this.len) {
      this.pos = start
      throw this.error('truncated varint')
    }
    if (b >= 0x80) {
      this.pos = start
      throw this.error('varint longer than 10 bytes')
    }
    this.pos = pos
    const high = hi >>> 0
    const low = lo >>> 0
    // Below 2^53 a double is exact, and one BigInt() is cheaper than shifting two.
    if (high < 0x200000) return BigInt(high * 4294967296 + low)
    return BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low))
  }

  /** A fixed32 (little-endian), unsigned. */
  fixed32(end: number): number {
    const pos = this.pos
    if (pos + 4 > end) throw this.error('truncated fixed32')
    this.pos = pos + 4
    return this.view.getUint32(pos, true)
  }

  /** A fixed64 (little-endian), unsigned and exact. */
  fixed64(end: number): bigint {
    const pos = this.pos
    if (pos + 8 > end) throw this.error('truncated fixed64')
    this.pos = pos + 8
    return this.view.getBigUint64(pos, true)
  }

  /** A double (little-endian IEEE 754). */
  double(end: number): number {
    const pos = this.pos
    if (pos + 8 > end) throw this.error('truncated double')
    this.pos = pos + 8
    return this.view.getFloat64(pos, true)
  }

  /** The length prefix of a length-delimited field; returns the field's end offset. */
  lengthDelimitedEnd(end: number): number {
    const length = this.uint32()
    const stop = this.pos + length
    if (stop > end) throw this.error(`length ${length} runs past the end of its message`)
    return stop
  }

  /** A length-delimited UTF-8 string (invalid sequences become U+FFFD, as Node decodes them). */
  string(end: number): string {
    const stop = this.lengthDelimitedEnd(end)
    const start = this.pos
    this.pos = stop
    return this.decodeUtf8(start, stop)
  }

  /**
   * Like `string`, through the repeat cache: for attribute keys and other short strings that
   * recur from span to span. A string not seen before costs a hash and a 64-byte copy more.
   */
  cachedString(end: number): string {
    const stop = this.lengthDelimitedEnd(end)
    const start = this.pos
    this.pos = stop
    const length = stop - start
    if (length === 0) return ''
    if (length > CACHE_MAX_BYTES) return this.decodeUtf8(start, stop)
    const buf = this.buf
    // FNV-1a over the bytes.
    let hash = 0x811c9dc5
    for (let i = start; i < stop; i++) hash = Math.imul(hash ^ buf[i]!, 0x01000193)
    const slot = (hash >>> 0) & (CACHE_SLOTS - 1)
    const base = slot * CACHE_MAX_BYTES
    if (cacheLengths[slot] === length) {
      let i = 0
      while (i < length && cacheBytes[base + i] === buf[start + i]) i++
      if (i === length) return cacheStrings[slot]!
    }
    const value = this.decodeUtf8(start, stop)
    for (let i = 0; i < length; i++) cacheBytes[base + i] = buf[start + i]!
    cacheLengths[slot] = length
    cacheStrings[slot] = value
    return value
  }

  private decodeUtf8(start: number, stop: number): string {
    if (stop - start <= TINY_STRING_BYTES) {
      const buf = this.buf
      let out = ''
      let i = start
      for (; i < stop; i++) {
        const c = buf[i]!
        if (c >= 0x80) break
        out += String.fromCharCode(c)
      }
      if (i === stop) return out
    }
    return this.text.toString('utf8', start, stop)
  }

  /** A length-delimited bytes field, copied so it outlives the request buffer. */
  bytes(end: number): Uint8Array {
    const stop = this.lengthDelimitedEnd(end)
    const start = this.pos
    this.pos = stop
    return this.buf.slice(start, stop)
  }

  /**
   * Reads a field tag; returns `fieldNumber << 3 | wireType` like the wire does, so callers
   * switch on whole tags (one comparison checks both number and type).
   */
  tag(): number {
    const tag = this.uint32()
    if (tag >>> 3 === 0) throw this.error('field number 0')
    return tag
  }

  /** Skips a field this decoder does not keep (unknown fields, or known ones with a foreign wire type). */
  skip(tag: number, end: number, depth = 0): void {
    switch (tag & 7) {
      case WireType.varint:
        this.int64()
        break
      case WireType.fixed64:
        if (this.pos + 8 > end) throw this.error('truncated fixed64')
        this.pos += 8
        break
      case WireType.lengthDelimited:
        this.pos = this.lengthDelimitedEnd(end)
        break
      case WireType.fixed32:
        if (this.pos + 4 > end) throw this.error('truncated fixed32')
        this.pos += 4
        break
      case WireType.startGroup: {
        // Groups are long deprecated but still valid on the wire: skip to the matching end.
        if (depth >= MAX_NESTING_DEPTH) throw this.error('groups nested too deeply')
        const endGroup = (tag & ~7) | WireType.endGroup
        for (;;) {
          if (this.pos >= end) throw this.error('unterminated group')
          const inner = this.tag()
          if (inner === endGroup) break
          this.skip(inner, end, depth + 1)
        }
        break
      }
      default:
        throw this.error(`unexpected wire type ${tag & 7} for field ${tag >>> 3}`)
    }
    if (this.pos > end) throw this.error('field runs past the end of its message')
  }

  /** Checks that a message ended exactly at its boundary (a varint may have run over it). */
  expectEnd(end: number): void {
    if (this.pos !== end) throw this.error('field runs past the end of its message')
  }
}
