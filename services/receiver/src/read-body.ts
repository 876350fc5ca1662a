import type { IncomingMessage } from 'node:http'
import { createGunzip, type Gunzip } from 'node:zlib'

/** Why a body could not be read; each maps to one OTLP/HTTP answer. */
export class BodyError extends Error {
  readonly kind: 'too_large' | 'bad_encoding' | 'unsupported_encoding' | 'aborted' | 'empty'

  constructor(kind: BodyError['kind'], message: string) {
    super(message)
    this.name = 'BodyError'
    this.kind = kind
  }
}

/**
 * Reads a request body, inflating gzip on the fly, and stops as soon as the
 * *decompressed* size passes `limitBytes`: a gzip bomb is cut off after at most one
 * chunk past the limit, never inflated whole.
 */
export function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
  if (encoding !== 'identity' && encoding !== 'gzip') {
    return Promise.reject(
      new BodyError(
        'unsupported_encoding',
        `Content-Encoding "${encoding}" is not supported; use gzip or none`,
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
    let gunzip: Gunzip | undefined
    let received = 0

    const fail = (error: BodyError) => {
      if (settled) return
      settled = true
      gunzip?.destroy()
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

    if (encoding === 'gzip') {
      gunzip = createGunzip()
      gunzip.on('data', collect)
      gunzip.on('end', done)
      gunzip.on('error', (error) =>
        fail(new BodyError('bad_encoding', `the gzip body is not valid: ${error.message}`)),
      )
      request.pipe(gunzip)
    } else {
      request.on('data', collect)
      request.on('end', done)
    }
  })
}

function tooLarge(limitBytes: number): BodyError {
  return new BodyError(
    'too_large',
    `the request body is larger than ${limitBytes} bytes (after decompression)`,
  )
}
