import { isNetworkError } from '@spansift/clickhouse/query-runner'
import { ErrorCode, httpStatusByErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { StorageRejectedError, StorageUnavailableError } from '@spansift/core/storage-errors'
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { ZodError } from 'zod'

/** The one place an error becomes an HTTP answer: `{error: {code, message}}` with the code's status. */
export function errorResponse(error: unknown, c: Context, onUnexpected: (error: unknown) => void): Response {
  const known = toSpansiftError(error)
  if (!known) onUnexpected(error)
  const failure = known ?? new SpansiftError(ErrorCode.internal, 'internal error')
  const status = httpStatusByErrorCode[failure.code] as ContentfulStatusCode
  const body = {
    error: {
      code: failure.code,
      message: failure.message,
      ...(failure.details ? { details: failure.details } : {}),
    },
  }
  if (failure.code === ErrorCode.unavailable) c.header('retry-after', '2')
  return c.json(body, status)
}

function toSpansiftError(error: unknown): SpansiftError | undefined {
  if (error instanceof SpansiftError) return error
  if (error instanceof ZodError) {
    const message = error.issues
      .map((issue) => `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`)
      .join('; ')
    return new SpansiftError(ErrorCode.invalidArgument, message)
  }
  if (error instanceof SyntaxError)
    return new SpansiftError(ErrorCode.badRequest, 'the request body is not valid JSON')
  // ClickHouse refusing a value is the request's fault, and permanent.
  if (error instanceof StorageRejectedError)
    return new SpansiftError(ErrorCode.invalidArgument, `storage refused the data: ${error.message}`)
  // ClickHouse out of reach (or busy) is temporary: say so (503 with Retry-After), not 500.
  if (error instanceof StorageUnavailableError || isNetworkError(error)) {
    return new SpansiftError(ErrorCode.unavailable, 'storage is unreachable right now; retry later')
  }
  return undefined
}
