import protobuf from 'protobufjs'
import type { OtlpFormat } from './otlp-types.ts'
import {
  ExportLogsServiceResponseType,
  ExportTraceServiceResponseType,
  RpcStatusType,
} from './proto-schema.ts'

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

/** The partial-success part of a logs export response. */
export interface ExportLogsPartialSuccess {
  rejectedLogRecords: number
  errorMessage: string
}

/**
 * Encodes an `ExportLogsServiceResponse` (HTTP 200 of `POST /v1/logs`, or the gRPC LogsService
 * answer), as `encodeExportTraceResponse` does for traces: empty without a partial success,
 * `rejectedLogRecords` as a decimal string in JSON.
 */
export function encodeExportLogsResponse(
  partialSuccess: ExportLogsPartialSuccess | undefined,
  format: 'protobuf',
): Uint8Array
export function encodeExportLogsResponse(
  partialSuccess: ExportLogsPartialSuccess | undefined,
  format: OtlpFormat,
): Uint8Array | string
export function encodeExportLogsResponse(
  partialSuccess: ExportLogsPartialSuccess | undefined,
  format: OtlpFormat,
): Uint8Array | string {
  const present =
    partialSuccess !== undefined &&
    (partialSuccess.rejectedLogRecords !== 0 || partialSuccess.errorMessage !== '')
  if (format === 'json') {
    if (!present) return '{}'
    return JSON.stringify({
      partialSuccess: {
        rejectedLogRecords: String(partialSuccess.rejectedLogRecords),
        errorMessage: partialSuccess.errorMessage,
      },
    })
  }
  const message = present ? { partialSuccess } : {}
  return plain(
    ExportLogsServiceResponseType.encode(ExportLogsServiceResponseType.fromObject(message)).finish(),
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

/** The `google.protobuf.Any` type URL of `google.rpc.RetryInfo`, as gRPC clients look it up. */
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo'

/**
 * Encodes a `google.rpc.Status` carrying one detail, a `google.rpc.RetryInfo` with
 * `retry_delay` = `retryDelaySeconds`: the `grpc-status-details-bin` trailer of a retryable
 * OTLP/gRPC error. OTLP exporters read the delay from it (the Go exporter retries
 * RESOURCE_EXHAUSTED only when it is there). `code` must equal the call's gRPC status.
 */
export function encodeRetryStatus(code: number, message: string, retryDelaySeconds: number): Uint8Array {
  // RetryInfo { google.protobuf.Duration retry_delay = 1 }, Duration { int64 seconds = 1 }:
  // two nested fields, written directly rather than loading error_details.proto for them.
  const retryInfo = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .fork()
    .uint32((1 << 3) | 0)
    .int64(Math.max(0, Math.ceil(retryDelaySeconds)))
    .ldelim()
    .finish()
  // protobufjs's built-in google.protobuf.Any keeps its snake_case field names.
  const status = { code, message, details: [{ type_url: RETRY_INFO_TYPE_URL, value: retryInfo }] }
  return plain(RpcStatusType.encode(status).finish())
}

/** protobufjs hands out Buffers in Node; callers get the plain Uint8Array the signature promises. */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
