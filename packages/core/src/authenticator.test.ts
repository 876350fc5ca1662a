import assert from 'node:assert/strict'
import { test } from 'node:test'
import { generateApiKey, hashApiKey } from './api-key.ts'
import { createAuthenticator } from './authenticator.ts'

/** An authenticator over a key table, counting the lookups it makes. */
function counted(
  keys: Record<string, string>,
  options: Parameters<typeof createAuthenticator>[0] | object = {},
) {
  const byHash = new Map(Object.entries(keys).map(([key, app]) => [hashApiKey(key), app]))
  const state = { lookups: 0, down: false }
  const auth = createAuthenticator({
    findApplicationId: async (hash) => {
      state.lookups++
      if (state.down) throw new Error('ECONNREFUSED')
      return byHash.get(hash)
    },
    ...options,
  })
  return { auth, state }
}

test('the admin key, an application key, and an unknown key', async () => {
  const appKey = generateApiKey()
  const { auth } = counted({ [appKey]: 'app-1' }, { adminKey: 'admin-secret' })
  assert.deepEqual(await auth.authenticate('admin-secret'), { kind: 'admin' })
  assert.deepEqual(await auth.authenticate(appKey), { kind: 'application', applicationId: 'app-1' })
  assert.equal(await auth.authenticate(generateApiKey()), undefined)
  assert.equal(await auth.authenticate(undefined), undefined)
})

test('a key without the issued form is refused without a lookup', async () => {
  const { auth, state } = counted({})
  for (const key of [
    'ssk_wrong',
    'Bearer',
    'x'.repeat(10_000),
    `ssk_${'a'.repeat(42)}`,
    `ssk_${'a'.repeat(42)}!`,
  ])
    assert.equal(await auth.authenticate(key), undefined)
  assert.equal(state.lookups, 0)
})

test('lookups, hits and misses alike, are cached until they expire, and concurrent ones share a query', async () => {
  let clock = 100_000 // lru-cache reads a start of 0 as no start
  const appKey = generateApiKey()
  const stranger = generateApiKey()
  const { auth, state } = counted(
    { [appKey]: 'app-1' },
    { cacheTtlMs: 1000, unknownTtlMs: 500, now: () => clock },
  )
  await Promise.all([auth.authenticate(stranger), auth.authenticate(stranger), auth.authenticate(appKey)])
  await auth.authenticate(stranger)
  await auth.authenticate(appKey)
  assert.equal(state.lookups, 2)
  clock = 100_501 // the miss expired, the hit not yet
  await auth.authenticate(stranger)
  await auth.authenticate(appKey)
  assert.equal(state.lookups, 3)
  clock = 101_001
  await auth.authenticate(appKey)
  assert.equal(state.lookups, 4)
})

test('a flood of unknown keys is bounded and never evicts a known key', async () => {
  let clock = 100_000 // lru-cache reads a start of 0 as no start
  const appKey = generateApiKey()
  const { auth, state } = counted(
    { [appKey]: 'app-1' },
    { cacheSize: 10, unknownCacheSize: 100, cacheTtlMs: 60_000, unknownTtlMs: 60_000, now: () => clock },
  )
  assert.ok(await auth.authenticate(appKey))
  const flood = Array.from({ length: 1_000 }, () => generateApiKey())
  for (const key of flood) assert.equal(await auth.authenticate(key), undefined)
  assert.equal(state.lookups, 1 + flood.length)
  // The known key is still cached: no lookup, and it survives a storage outage.
  state.down = true
  clock = 130_000
  assert.deepEqual(await auth.authenticate(appKey), { kind: 'application', applicationId: 'app-1' })
  assert.equal(state.lookups, 1 + flood.length)
  // The last unknown keys are remembered within the bound; the earliest were let go.
  state.down = false
  await auth.authenticate(flood.at(-1))
  assert.equal(state.lookups, 1 + flood.length)
  await auth.authenticate(flood[0])
  assert.equal(state.lookups, 2 + flood.length)
})

test('without a configured admin key no key is admin', async () => {
  const { auth } = counted({})
  assert.equal(await auth.authenticate(''), undefined)
  assert.equal(await auth.authenticate('admin-secret'), undefined)
})

test('when the lookup fails, an expired entry is used; without one the error goes up', async () => {
  let clock = 100_000 // lru-cache reads a start of 0 as no start
  const appKey = generateApiKey()
  const { auth, state } = counted({ [appKey]: 'app-1' }, { cacheTtlMs: 1000, now: () => clock })
  assert.deepEqual(await auth.authenticate(appKey), { kind: 'application', applicationId: 'app-1' })
  state.down = true
  clock = 105_000
  assert.deepEqual(await auth.authenticate(appKey), { kind: 'application', applicationId: 'app-1' })
  await assert.rejects(auth.authenticate(generateApiKey()), /ECONNREFUSED/)
})
