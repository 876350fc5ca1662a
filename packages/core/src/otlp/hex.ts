/**
 * Hex conversion for trace and span ids. Ids are converted once per span on the hot path, so
 * both directions use precomputed tables instead of `toString(16)`/`parseInt` or a regex.
 */

/** Byte value → its two lowercase hex digits. */
const BYTE_TO_HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Char code → nibble value, or -1 for a character that is not a hex digit. */
const HEX_TO_NIBBLE: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1)
  for (let i = 0; i < 10; i++) table[48 + i] = i
  for (let i = 0; i < 6; i++) {
    table[65 + i] = 10 + i // A-F
    table[97 + i] = 10 + i // a-f
  }
  return table
})()

/** Char codes of each byte's high and low hex digit, for the fixed-length fast paths. */
const HIGH_DIGIT = new Uint16Array(256)
const LOW_DIGIT = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  HIGH_DIGIT[i] = BYTE_TO_HEX[i]!.charCodeAt(0)
  LOW_DIGIT[i] = BYTE_TO_HEX[i]!.charCodeAt(1)
}

/**
 * Lowercase hex of `bytes` ('' for no bytes). Trace (16-byte) and span (8-byte) ids take one
 * `String.fromCharCode` call, which yields a flat string: a concatenation loop would build a
 * rope that V8 must flatten again when the id is hashed or compared.
 */
export function bytesToHex(bytes: Uint8Array): string {
  if (bytes.length === 16) return hex16(bytes)
  if (bytes.length === 8) return hex8(bytes)
  let out = ''
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_HEX[bytes[i]!]
  return out
}

function hex16(b: Uint8Array): string {
  const h = HIGH_DIGIT
  const l = LOW_DIGIT
  const b0 = b[0]!
  const b1 = b[1]!
  const b2 = b[2]!
  const b3 = b[3]!
  const b4 = b[4]!
  const b5 = b[5]!
  const b6 = b[6]!
  const b7 = b[7]!
  const b8 = b[8]!
  const b9 = b[9]!
  const b10 = b[10]!
  const b11 = b[11]!
  const b12 = b[12]!
  const b13 = b[13]!
  const b14 = b[14]!
  const b15 = b[15]!
  return String.fromCharCode(
    h[b0]!,
    l[b0]!,
    h[b1]!,
    l[b1]!,
    h[b2]!,
    l[b2]!,
    h[b3]!,
    l[b3]!,
    h[b4]!,
    l[b4]!,
    h[b5]!,
    l[b5]!,
    h[b6]!,
    l[b6]!,
    h[b7]!,
    l[b7]!,
    h[b8]!,
    l[b8]!,
    h[b9]!,
    l[b9]!,
    h[b10]!,
    l[b10]!,
    h[b11]!,
    l[b11]!,
    h[b12]!,
    l[b12]!,
    h[b13]!,
    l[b13]!,
    h[b14]!,
    l[b14]!,
    h[b15]!,
    l[b15]!,
  )
}

function hex8(b: Uint8Array): string {
  const h = HIGH_DIGIT
  const l = LOW_DIGIT
  const b0 = b[0]!
  const b1 = b[1]!
  const b2 = b[2]!
  const b3 = b[3]!
  const b4 = b[4]!
  const b5 = b[5]!
  const b6 = b[6]!
  const b7 = b[7]!
  return String.fromCharCode(
    h[b0]!,
    l[b0]!,
    h[b1]!,
    l[b1]!,
    h[b2]!,
    l[b2]!,
    h[b3]!,
    l[b3]!,
    h[b4]!,
    l[b4]!,
    h[b5]!,
    l[b5]!,
    h[b6]!,
    l[b6]!,
    h[b7]!,
    l[b7]!,
  )
}

/**
 * The bytes that `hex` spells (either case), or `undefined` when it has an odd length or a
 * character that is not a hex digit; the caller words the error, it knows which field it is.
 */
export function hexToBytes(hex: string): Uint8Array | undefined {
  const length = hex.length
  if ((length & 1) !== 0) return undefined
  const out = new Uint8Array(length >>> 1)
  for (let i = 0, j = 0; i < length; i += 2, j++) {
    const hi = hex.charCodeAt(i)
    const lo = hex.charCodeAt(i + 1)
    // Char codes ≥ 128 index past the table and read undefined, which fails the check below.
    const h = HEX_TO_NIBBLE[hi] ?? -1
    const l = HEX_TO_NIBBLE[lo] ?? -1
    if ((h | l) < 0) return undefined
    out[j] = (h << 4) | l
  }
  return out
}

/** Whether every byte is zero (true for no bytes). OTLP treats all-zero ids as invalid. */
export function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false
  return true
}
