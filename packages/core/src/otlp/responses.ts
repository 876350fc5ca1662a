import type { OtlpFormat } from './otlp-types.ts'
import { ExportTraceServiceResponseType, RpcStatusType } from './proto-schema.ts'

/** The partial-success part of an export response: how many spans were dropped, and why. */
export interface ExportPartialSuccess {
  rejectedSpans: number
  errorMessage: string
}

/**
 * Encodes an `ExportTraceServiceResponse`, the body of a successful OTLP/HTTP export (HTTP 200).
 * Without a partial success (or with an empty one, which OTLP treats the same) the message is
 * empty: zero bytes in protobuf, `{}` in JSON. JSON follows OTLP/JSON: lowerCamelCase keys,
 * `rejectedSpans` (an int64) as a decimal string.
 */
export function encodeExportTraceResponse(
  partialSuccess: ExportPartialSuccess | undefined,
  format: 'protobuf',
): Uint8Array
export function encodeExportTraceResponse(
  partialSuccess: ExportPartialSuccess | undefined,
  format: 'json',
): string
export function encodeExportTraceResponse(
  partialSuccess: ExportPartialSuccess | undefined,
  format: OtlpFormat,
): Uint8Array | string
export function encodeExportTraceResponse(
  partialSuccess: ExportPartialSuccess | undefined,
  format: OtlpFormat,
): Uint8Array | string {
  const present =
    partialSuccess !== undefined && (partialSuccess.rejectedSpans !== 0 || partialSuccess.errorMessage !== '')
  if (format === 'json') {
    if (!present) return '{}'
    return JSON.stringify({
      partialSuccess: {
        rejectedSpans: String(partialSuccess.rejectedSpans),
        errorMessage: partialSuccess.errorMessage,
      },
    })
  }
  const message = present
    ? {
        partialSuccess: {
          rejectedSpans: partialSuccess.rejectedSpans,
          errorMessage: partialSuccess.errorMessage,
        },
      }
    : {}
  return plain(
    ExportTraceServiceResponseType.encode(ExportTraceServiceResponseType.fromObject(message)).finish(),
  )
}

/**
 * Encodes a `google.rpc.Status`, the body OTLP/HTTP requires for 4xx and 5xx responses, in the
 * request's format. `code` is a gRPC status code (e.g. 3 INVALID_ARGUMENT for a malformed body,
 * 14 UNAVAILABLE for back-pressure); `details` is left empty.
 */
export function encodeRpcStatus(code: number, message: string, format: 'protobuf'): Uint8Array
export function encodeRpcStatus(code: number, message: string, format: 'json'): string
export function encodeRpcStatus(code: number, message: string, format: OtlpFormat): Uint8Array | string
export function encodeRpcStatus(code: number, message: string, format: OtlpFormat): Uint8Array | string {
  if (format === 'json') return JSON.stringify({ code, message })
  return plain(RpcStatusType.encode(RpcStatusType.fromObject({ code, message })).finish())
}

/** protobufjs hands out Buffers in Node; callers get the plain Uint8Array the signature promises. */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
