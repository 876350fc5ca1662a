import { OtlpDecodeError } from '@spansift/core/otlp/decode-error'
import { decodeExportTraceRequestJson } from '@spansift/core/otlp/decode-json'
import { decodeExportTraceRequestProtobuf } from '@spansift/core/otlp/decode-protobuf'
import { type NormalizeResult, normalizeExportTraceRequest } from '@spansift/core/otlp/normalize'
import type { OtlpExportTraceRequest, OtlpFormat } from '@spansift/core/otlp/otlp-types'
import {
  type ExportPartialSuccess,
  encodeExportTraceResponse,
  encodeRpcStatus,
} from '@spansift/core/otlp/responses'

export type { OtlpFormat }

/** Decodes a request body in the format its Content-Type names. Throws OtlpDecodeError. */
export function decodeRequest(format: OtlpFormat, body: Buffer): OtlpExportTraceRequest {
  return format === 'protobuf'
    ? decodeExportTraceRequestProtobuf(body)
    : decodeExportTraceRequestJson(body.toString('utf8'))
}

export function isDecodeError(error: unknown): error is OtlpDecodeError {
  return error instanceof OtlpDecodeError
}

/** Normalizes a decoded request into spans of `applicationId` (the sending key's application). */
export function normalize(request: OtlpExportTraceRequest, applicationId: string): NormalizeResult {
  return normalizeExportTraceRequest(request, { applicationId })
}

export function encodeResponse(
  partial: ExportPartialSuccess | undefined,
  format: OtlpFormat,
): Uint8Array | string {
  return encodeExportTraceResponse(partial, format)
}

export function encodeStatus(code: number, message: string, format: OtlpFormat): Uint8Array | string {
  return encodeRpcStatus(code, message, format)
}
