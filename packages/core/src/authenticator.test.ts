import assert from 'node:assert/strict'
import { test } from 'node:test'
import { generateApiKey, hashApiKey } from './api-key.ts'
import { type AuthenticatorOptions, createAuthenticator, type StoredKey } from './authenticator.ts'

/** An authenticator over a key table, counting the lookups it makes. */
function counted(
  keys: Record<string, string | Partial<StoredKey>>,
  options: Partial<AuthenticatorOptions> = {},
) {
  const byHash = new Map<string, StoredKey>(
    Object.entries(keys).map(([key, app]) => [
      hashApiKey(key),
      typeof app === 'string'
        ? { id: `id-${app}`, applicationId: app, scope: 'read-write' }
        : { id: 'id', applicationId: 'app', scope: 'read-write', ...app },
    ]),
  )
  const state = { lookups: 0, down: false, byHash }
  const auth = createAuthenticator({
    findKey: async (hash) => {
      state.lookups++
      if (state.down) throw new Error('ECONNREFUSED')
      return byHash.get(hash)
    },
    ...options,
  })
  return { auth, state }
}

const app1 = { kind: 'application', applicationId: 'app-1', keyId: 'id-app-1', scope: 'read-write' }
const principalOf = async (auth: ReturnType<typeof counted>['auth'], key: string | undefined) =>
  (await auth.authenticate(key)).principal
const refusalOf = async (auth: ReturnType<typeof counted>['auth'], key: string | undefined) =>
  (await auth.authenticate(key)).refused

test('the admin key, an application key, and an unknown key', async () => {
  const appKey = generateApiKey()
  const { auth } = counted({ [appKey]: 'app-1' }, { adminKey: 'admin-secret' })
  assert.deepEqual(await principalOf(auth, 'admin-secret'), { kind: 'admin' })
  assert.deepEqual(await principalOf(auth, appKey), app1)
  assert.equal(await refusalOf(auth, generateApiKey()), 'unknown')
  assert.equal(await refusalOf(auth, undefined), 'missing')
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
    assert.equal(await refusalOf(auth, key), 'unknown')
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
  assert.ok(await principalOf(auth, appKey))
  const flood = Array.from({ length: 1_000 }, () => generateApiKey())
  for (const key of flood) assert.equal(await refusalOf(auth, key), 'unknown')
  assert.equal(state.lookups, 1 + flood.length)
  // The known key is still cached: no lookup, and it survives a storage outage.
  state.down = true
  clock = 130_000
  assert.deepEqual(await principalOf(auth, appKey), app1)
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
  assert.equal(await refusalOf(auth, ''), 'missing')
  assert.equal(await refusalOf(auth, 'admin-secret'), 'unknown')
})

test('when the lookup fails, an expired entry is used; without one the error goes up', async () => {
  let clock = 100_000 // lru-cache reads a start of 0 as no start
  const appKey = generateApiKey()
  const { auth, state } = counted({ [appKey]: 'app-1' }, { cacheTtlMs: 1000, now: () => clock })
  assert.deepEqual(await principalOf(auth, appKey), app1)
  state.down = true
  clock = 105_000
  assert.deepEqual(await principalOf(auth, appKey), app1)
  // Trusted for another TTL: one failed lookup per TTL during the outage, not one per request.
  const lookups = state.lookups
  clock = 105_500
  assert.deepEqual(await principalOf(auth, appKey), app1)
  assert.equal(state.lookups, lookups)
  await assert.rejects(auth.authenticate(generateApiKey()), /ECONNREFUSED/)
})

test('a revoked key and an expired key are refused, each saying so', async () => {
  const wall = 1_800_000_000_000
  const revoked = generateApiKey()
  const expired = generateApiKey()
  const graced = generateApiKey()
  const { auth } = counted(
    {
      [revoked]: { revokedAt: wall - 1 },
      [expired]: { expiresAt: wall - 1 },
      [graced]: { revokedAt: wall + 1000 },
    },
    { wallClock: () => wall },
  )
  assert.deepEqual(await auth.authenticate(revoked), {
    refused: 'revoked',
    message: 'the API key has been revoked',
  })
  assert.deepEqual(await auth.authenticate(expired), {
    refused: 'expired',
    message: 'the API key has expired',
  })
  // A revocation in the future (a rotation's grace period): the key works until then.
  assert.ok(await principalOf(auth, graced))
})

test('a revocation made elsewhere is seen once the short positive cache expires; a revoked key never falls back to the stale entry', async () => {
  let clock = 100_000 // lru-cache reads a start of 0 as no start
  const appKey = generateApiKey()
  const { auth, state } = counted({ [appKey]: 'app-1' }, { cacheTtlMs: 1000, now: () => clock })
  assert.deepEqual(await principalOf(auth, appKey), app1)
  // Another process revokes it in storage.
  state.byHash.set(hashApiKey(appKey), {
    ...state.byHash.get(hashApiKey(appKey))!,
    revokedAt: Date.now() - 1,
  })
  assert.deepEqual(await principalOf(auth, appKey), app1, 'still cached')
  clock = 101_001
  assert.equal(await refusalOf(auth, appKey), 'revoked')
  // Storage goes down: the key known revoked is not served from the stale entry.
  state.down = true
  clock = 105_000
  assert.equal(await refusalOf(auth, appKey), 'revoked')
  // Once the refusal is forgotten too, the outage is an error (retryable), never an acceptance.
  clock = 200_000
  await assert.rejects(auth.authenticate(appKey), /ECONNREFUSED/)
})

test('every accepted application key is reported to recordUse', async () => {
  const appKey = generateApiKey()
  const used: string[] = []
  const { auth } = counted(
    { [appKey]: 'app-1' },
    { recordUse: (id) => used.push(id), adminKey: 'admin-secret' },
  )
  await auth.authenticate(appKey)
  await auth.authenticate(appKey)
  await auth.authenticate('admin-secret')
  await auth.authenticate(generateApiKey())
  assert.deepEqual(used, ['id-app-1', 'id-app-1'])
})
