import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode, SpansiftError } from './error-codes.ts'
import { NameRaceLostError, retryNameRace } from './name-race.ts'

test('a create that lost a race for its name is tried again, and succeeds once the name is free', async () => {
  let attempts = 0
  const created = await retryNameRace(async () => {
    attempts++
    if (attempts < 3) throw new NameRaceLostError('another request created it at the same moment')
    return 'created'
  })
  assert.equal(created, 'created')
  assert.equal(attempts, 3)
})

test('a name already taken is a conflict at once; a create that keeps losing is a conflict after 5 attempts', async () => {
  let attempts = 0
  await assert.rejects(
    retryNameRace(async () => {
      attempts++
      throw new SpansiftError(ErrorCode.conflict, 'taken')
    }),
    (error: unknown) => error instanceof SpansiftError && error.code === ErrorCode.conflict,
  )
  assert.equal(attempts, 1)
  attempts = 0
  await assert.rejects(
    retryNameRace(async () => {
      attempts++
      throw new NameRaceLostError('lost')
    }),
    (error: unknown) => error instanceof NameRaceLostError && error.code === ErrorCode.conflict,
  )
  assert.equal(attempts, 5)
})
