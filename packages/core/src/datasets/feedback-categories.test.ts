import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode, SpansiftError } from '../error-codes.ts'
import { assertFeedbackCategoryAllowed } from './feedback-categories.ts'

test('a category outside a non-empty list is refused, naming the allowed ones', () => {
  assert.throws(
    () => assertFeedbackCategoryAllowed(['wrong', 'unsafe'], 'typo'),
    (error) => {
      assert.ok(error instanceof SpansiftError)
      assert.equal(error.code, ErrorCode.invalidArgument)
      assert.match(error.message, /"typo" is not one of this dataset's categories: wrong, unsafe/)
      assert.deepEqual(error.details, { allowed: ['wrong', 'unsafe'] })
      return true
    },
  )
})

test('a listed category, null, an absent one, or any with an empty list passes', () => {
  assertFeedbackCategoryAllowed(['wrong', 'unsafe'], 'unsafe')
  assertFeedbackCategoryAllowed(['wrong'], null)
  assertFeedbackCategoryAllowed(['wrong'], undefined)
  assertFeedbackCategoryAllowed([], 'anything')
})
