import { isExactInteger, parseJsonExact } from '../exact-integer.ts'
import type { AttributeValue } from '../span-model.ts'
import type { DatasetValue, MediaReference } from './dataset-model.ts'

const IMAGE_EXTENSIONS = /\.(png|jpe?g|gif|webp|bmp|svg|tiff?|heic|avif)$/i
const PDF_EXTENSION = /\.pdf$/i
const DATA_URI = /^data:([a-z0-9.+-]+\/[a-z0-9.+-]+)[;,]/i

/**
 * Recognises an image or PDF reference: an http(s) URL or a path ending in a media
 * extension (the query string is ignored), or a data URI with an image/* or
 * application/pdf type. Anything else is not a reference.
 */
export function mediaReference(text: string): MediaReference | undefined {
  const dataUri = DATA_URI.exec(text)
  if (dataUri) {
    const mime = dataUri[1]!.toLowerCase()
    if (mime.startsWith('image/')) return { type: 'image', ref: text }
    if (mime === 'application/pdf') return { type: 'pdf', ref: text }
    return undefined
  }
  if (/\s/.test(text) || text.length > 4096) return undefined
  const isUrl = /^https?:\/\/[^/]/i.test(text)
  const isPath = /^(\/|\.{1,2}\/|[a-z]:\\)/i.test(text) || (!text.includes('://') && text.includes('/'))
  if (!isUrl && !isPath) return undefined
  const pathPart = isUrl ? safePathname(text) : text.split(/[?#]/)[0]!
  if (pathPart === undefined) return undefined
  if (IMAGE_EXTENSIONS.test(pathPart)) return { type: 'image', ref: text }
  if (PDF_EXTENSION.test(pathPart)) return { type: 'pdf', ref: text }
  return undefined
}

function safePathname(url: string): string | undefined {
  try {
    return new URL(url).pathname
  } catch {
    return undefined
  }
}

/**
 * Turns a resolved attribute value into a dataset cell: text stays text (unless it
 * is an image/PDF reference), numbers and booleans stay, objects and arrays stay
 * structures (a non-finite number inside one becomes null, as JSON writes it). `null`
 * carries no value and yields undefined, like a missing path.
 */
export function toDatasetValue(value: AttributeValue | undefined): DatasetValue | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string') return mediaReference(value) ?? value
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'boolean' || isExactInteger(value)) return value
  return parseJsonExact(JSON.stringify(value)) as DatasetValue
}

/** True for a media reference cell. */
export function isMediaReference(value: unknown): value is MediaReference {
  return (
    typeof value === 'object' &&
    value !== null &&
    ((value as MediaReference).type === 'image' || (value as MediaReference).type === 'pdf') &&
    typeof (value as MediaReference).ref === 'string'
  )
}
