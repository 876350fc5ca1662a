import { ErrorCode, SpansiftError } from '../error-codes.ts'

/** At most this many feedback categories per dataset (the review page picks the first nine with keys 1–9). */
export const MAX_FEEDBACK_CATEGORIES = 20
/** The longest feedback category, as for a row's feedback_category. */
export const MAX_FEEDBACK_CATEGORY_LENGTH = 200

/**
 * Refuses a row's feedback category that is not in its dataset's list. An empty list
 * allows any category; null (clearing it) is always allowed. The error names the allowed
 * ones, so a reviewer or a script can correct the request.
 */
export function assertFeedbackCategoryAllowed(
  allowed: readonly string[],
  category: string | null | undefined,
): void {
  const problem = feedbackCategoryProblem(allowed, category, "this dataset's")
  if (problem) throw new SpansiftError(ErrorCode.invalidArgument, problem, { allowed: [...allowed] })
}

/** Why `category` may not be a row's category under `allowed` (`whose`: "this dataset's"), or undefined. */
export function feedbackCategoryProblem(
  allowed: readonly string[],
  category: string | null | undefined,
  whose: string,
): string | undefined {
  if (category === null || category === undefined || allowed.length === 0) return undefined
  if (allowed.includes(category)) return undefined
  return `feedback_category "${category}" is not one of ${whose} categories: ${allowed.join(', ')}`
}
