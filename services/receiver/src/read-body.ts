import type { IncomingMessage } from 'node:http'
import type { Transform } from 'node:stream'
import { createGunzip, createInflate, createInflateRaw, createZstdDecompress } from 'node:zlib'

/** Why a body could not be read; each maps to one OTLP/HTTP answer. */
export class BodyError extends Error {
  readonly kind: 'too_large' | 'bad_encoding' | 'unsupported_encoding' | 'aborted' | 'empty'

  constructor(kind: BodyError['kind'], message: string) {
    super(message)
    this.name = 'BodyError'
    this.kind = kind
  }
}

/** The Content-Encodings an OTLP/HTTP body may use (the Collector's otlphttp exporter offers all three). */
export const SUPPORTED_ENCODINGS = ['gzip', 'deflate', 'zstd'] as const
type Encoding = (typeof SUPPORTED_ENCODINGS)[number]

/**
 * HTTP `deflate` means the zlib format (RFC 9110 §8.4.1.2), but some clients send a raw
 * deflate stream; the first two bytes tell them apart (a zlib header is CM=8, a window of
 * at most 32 KiB, and a check making the 16-bit big-endian value a multiple of 31).
 */
function isZlibHeader(first: Buffer): boolean {
  const cmf = first[0]!
  if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7) return false
  return first.length < 2 || ((cmf << 8) | first[1]!) % 31 === 0
}

const DECODERS: Record<Encoding, (first: Buffer) => Transform> = {
  gzip: () => createGunzip(),
  deflate: (first) => (isZlibHeader(first) ? createInflate() : createInflateRaw()),
  zstd: () => createZstdDecompress(),
}

function isSupported(encoding: string): encoding is Encoding {
  return (SUPPORTED_ENCODINGS as readonly string[]).includes(encoding)
}

/**
 * Reads a request body, decoding gzip, deflate (zlib or raw) or zstd on the fly, and stops
 * as soon as the *decompressed* size passes `limitBytes`: a compression bomb is cut off after
 * at most one chunk past the limit, never inflated whole. Shared by every OTLP/HTTP route.
 */
export function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
  if (encoding !== 'identity' && !isSupported(encoding)) {
    return Promise.reject(
      new BodyError(
        'unsupported_encoding',
        `Content-Encoding "${encoding}" is not supported; use ${SUPPORTED_ENCODINGS.join(', ')} or none`,
      ),
    )
  }
  const declared = Number(request.headers['content-length'])
  if (Number.isFinite(declared) && declared > limitBytes) {
    return Promise.reject(tooLarge(limitBytes))
  }

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    let decoder: Transform | undefined
    let received = 0

    const fail = (error: BodyError) => {
      if (settled) return
      settled = true
      decoder?.destroy()
      request.unpipe()
      reject(error)
    }
    const collect = (chunk: Buffer) => {
      if (settled) return
      size += chunk.length
      if (size > limitBytes) return fail(tooLarge(limitBytes))
      chunks.push(chunk)
    }
    const done = () => {
      if (settled) return
      settled = true
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
    }

    // The compressed stream is capped too, so a body cannot be endless either way.
    request.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received > limitBytes) fail(tooLarge(limitBytes))
    })
    request.on('aborted', () => fail(new BodyError('aborted', 'the client closed the request')))
    request.on('error', () => fail(new BodyError('aborted', 'the request stream failed')))

    if (encoding === 'identity') {
      request.on('data', collect)
      request.on('end', done)
      return
    }
    // The decoder is chosen on the first chunk (raw or zlib deflate); an empty body has none.
    request.once('data', (first: Buffer) => {
      if (settled) return
      const active = DECODERS[encoding](first)
      decoder = active
      active.on('data', collect)
      active.on('end', done)
      active.on('error', (error) =>
        fail(new BodyError('bad_encoding', `the ${encoding} body is not valid: ${error.message}`)),
      )
      active.write(first)
      request.pipe(active)
    })
    request.once('end', () => {
      if (!decoder) done()
    })
  })
}

function tooLarge(limitBytes: number): BodyError {
  return new BodyError(
    'too_large',
    `the request body is larger than ${limitBytes} bytes (after decompression)`,
  )
}
