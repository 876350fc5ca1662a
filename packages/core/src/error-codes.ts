/**
 * The closed set of error codes spansift answers with. Each has exactly one HTTP
 * status in `httpStatusByErrorCode`; a code added here without a status does not
 * compile.
 */
export const ErrorCode = {
  badRequest: 'bad_request',
  invalidArgument: 'invalid_argument',
  unauthenticated: 'unauthenticated',
  /** The key was revoked (401): a new key is needed. */
  keyRevoked: 'key_revoked',
  /** The key passed its expiry (401): a new key is needed. */
  keyExpired: 'key_expired',
  forbidden: 'forbidden',
  notFound: 'not_found',
  conflict: 'conflict',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  methodNotAllowed: 'method_not_allowed',
  rangeNotBounded: 'range_not_bounded',
  /** An append would take a dataset past its row cap; nothing was added. */
  datasetCapReached: 'dataset_cap_reached',
  /** The rows yield variables the dataset has no columns for. */
  incompatibleColumns: 'incompatible_columns',
  /** Every candidate overlaps the eval dataset a training dataset excludes: nothing would be left. */
  leakageAllExcluded: 'leakage_all_excluded',
  /** An export would be empty (no rows, or none the format can hold): refused rather than a 0-byte file. */
  exportEmpty: 'export_empty',
  /** A strict export met rows the format cannot hold; they are named in the details. */
  unconvertibleRows: 'unconvertible_rows',
  unavailable: 'unavailable',
  internal: 'internal',
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

export const httpStatusByErrorCode: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_argument: 400,
  unauthenticated: 401,
  key_revoked: 401,
  key_expired: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  method_not_allowed: 405,
  range_not_bounded: 400,
  dataset_cap_reached: 409,
  incompatible_columns: 422,
  leakage_all_excluded: 409,
  export_empty: 422,
  unconvertible_rows: 422,
  unavailable: 503,
  internal: 500,
}

/** An error a user can act on; its code decides the HTTP status and whether a caller may retry. */
export class SpansiftError extends Error {
  readonly code: ErrorCode
  readonly details: Record<string, unknown> | undefined

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'SpansiftError'
    this.code = code
    this.details = details
  }

  get retryable(): boolean {
    return this.code === ErrorCode.unavailable
  }
}
