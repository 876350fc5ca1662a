import assert from 'node:assert/strict'
import { test } from 'node:test'
import { UnknownApplicationError } from '@spansift/core/application-stamp'
import { testSpan } from '@spansift/core/datasets/test-span'
import { createApplicationCheck } from './application-check.ts'

const KNOWN = '11111111-1111-4111-8111-111111111111'
const UNKNOWN = '22222222-2222-4222-8222-222222222222'

function counting() {
  const asked: string[] = []
  const check = createApplicationCheck({
    exists: async (id) => {
      asked.push(id)
      return id === KNOWN
    },
  })
  return { asked, check }
}

test('spans of an existing application pass, and the lookup is cached', async () => {
  const { asked, check } = counting()
  await check.assertKnown([testSpan({ applicationId: KNOWN }), testSpan({ applicationId: KNOWN })])
  await check.assertKnown([testSpan({ applicationId: KNOWN })])
  assert.deepEqual(asked, [KNOWN])
})

test('an unknown application is refused with its id, and remembered as unknown', async () => {
  const { asked, check } = counting()
  for (let i = 0; i < 3; i++) {
    await assert.rejects(
      check.assertKnown([testSpan({ applicationId: KNOWN }), testSpan({ applicationId: UNKNOWN })]),
      (error) => error instanceof UnknownApplicationError && error.applicationIds.join() === UNKNOWN,
    )
  }
  assert.deepEqual(asked, [KNOWN, UNKNOWN])
})
