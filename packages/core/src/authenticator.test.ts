import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hashApiKey } from './api-key.ts'
import { createAuthenticator } from './authenticator.ts'

test('the admin key, an application key, and an unknown key', async () => {
  const appKey = 'ssk_app'
  const auth = createAuthenticator({
    adminKey: 'admin-secret',
    findApplicationId: async (hash) => (hash === hashApiKey(appKey) ? 'app-1' : undefined),
  })
  assert.deepEqual(await auth.authenticate('admin-secret'), { kind: 'admin' })
  assert.deepEqual(await auth.authenticate(appKey), { kind: 'application', applicationId: 'app-1' })
  assert.equal(await auth.authenticate('ssk_wrong'), undefined)
  assert.equal(await auth.authenticate(undefined), undefined)
})

test('lookups, hits and misses alike, are cached until they expire', async () => {
  let clock = 0
  let lookups = 0
  const auth = createAuthenticator({
    findApplicationId: async () => {
      lookups++
      return undefined
    },
    cacheTtlMs: 1000,
    now: () => clock,
  })
  await Promise.all([auth.authenticate('k'), auth.authenticate('k')])
  await auth.authenticate('k')
  assert.equal(lookups, 1)
  clock = 1001
  await auth.authenticate('k')
  assert.equal(lookups, 2)
})

test('without a configured admin key no key is admin', async () => {
  const auth = createAuthenticator({ findApplicationId: async () => undefined })
  assert.equal(await auth.authenticate(''), undefined)
  assert.equal(await auth.authenticate('admin-secret'), undefined)
})

test('when the lookup fails, an expired entry is used; without one the error goes up', async () => {
  let clock = 0
  let down = false
  const auth = createAuthenticator({
    findApplicationId: async () => {
      if (down) throw new Error('ECONNREFUSED')
      return 'app-1'
    },
    cacheTtlMs: 1000,
    now: () => clock,
  })
  assert.deepEqual(await auth.authenticate('known'), { kind: 'application', applicationId: 'app-1' })
  down = true
  clock = 5000
  assert.deepEqual(await auth.authenticate('known'), { kind: 'application', applicationId: 'app-1' })
  await assert.rejects(auth.authenticate('never-seen'), /ECONNREFUSED/)
})
