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
