import { Buffer } from 'node:buffer'
import { exactInteger } from '../exact-integer.ts'
import type { Attributes, AttributeValue } from '../span-model.ts'
import type { OtlpAnyValue, OtlpKeyValue } from './otlp-types.ts'

/**
 * Converts an OTLP AnyValue to the JSON-safe attribute value of the span model (see
 * `AttributeValue` in span-model.ts): int64 beyond ±(2^53−1) becomes an ExactInteger,
 * bytes become base64, arrays and kvlists stay structures, an empty value is null. Doubles
 * JSON cannot carry (NaN, ±Infinity) become the strings protobuf JSON uses for them.
 */
export function toAttributeValue(value: OtlpAnyValue): AttributeValue {
  switch (value.type) {
    case 'string':
    case 'bool':
      return value.value
    case 'int':
      return exactInteger(value.value)
    case 'double':
      return Number.isFinite(value.value) ? value.value : String(value.value)
    case 'array': {
      const items = value.value
      const out: AttributeValue[] = new Array(items.length)
      for (let i = 0; i < items.length; i++) out[i] = toAttributeValue(items[i]!)
      return out
    }
    case 'kvlist':
      return toAttributes(value.value)
    case 'bytes': {
      const bytes = value.value
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
    }
    case 'empty':
      return null
  }
}

/**
 * Converts OTLP key/values to an attribute record. Keys must be unique in OTLP; if one repeats
 * anyway, the last occurrence wins. `skipKey`, when given, is left out (the application stamp).
 */
export function toAttributes(keyValues: readonly OtlpKeyValue[], skipKey?: string): Attributes {
  const out: Attributes = {}
  for (let i = 0; i < keyValues.length; i++) {
    const { key, value } = keyValues[i]!
    if (key === skipKey) continue
    if (key === '__proto__') {
      // A plain assignment would set the object's prototype instead of storing the attribute.
      Object.defineProperty(out, key, {
        value: toAttributeValue(value),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    } else {
      out[key] = toAttributeValue(value)
    }
  }
  return out
}
