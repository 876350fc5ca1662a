import { ErrorCode, SpansiftError } from '../error-codes.ts'

/**
 * A request body that is not a valid OTLP `ExportTraceServiceRequest` (malformed protobuf,
 * malformed JSON, or JSON of the wrong shape). It is a `bad_request` SpansiftError, so the
 * receiver answers HTTP 400 without special casing, as OTLP/HTTP requires for bodies that
 * cannot be decoded (the client must not retry them).
 */
export class OtlpDecodeError extends SpansiftError {
  constructor(message: string) {
    super(ErrorCode.badRequest, message)
    this.name = 'OtlpDecodeError'
  }
}
