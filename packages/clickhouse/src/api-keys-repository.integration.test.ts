import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { generateApiKey, hashApiKey } from '@spansift/core/api-key'
import type { Storage } from './storage.ts'
import { tableNames } from './tables.ts'
import { openTestStorage } from './test-storage.ts'

// The key tables on the real engine: what migration 11 gives keys stored before it, the
// revocation rules, last use, and the list's pages.
let storage: Storage
before(async () => {
  storage = await openTestStorage('api-keys')
})
after(async () => {
  await storage.close()
})

const newKey = (applicationId: string, createdAt: string, scope: 'ingest' | 'read-write' = 'read-write') => {
  const key = generateApiKey()
  return {
    id: randomUUID(),
    keyHash: hashApiKey(key),
    applicationId,
    keyPrefix: key.slice(0, 10),
    scope,
    createdAt,
  }
}

test('a key stored with only the first schema’s columns gets a stable id from its hash, scope read-write, no expiry', async () => {
  const key = generateApiKey()
  const hash = hashApiKey(key)
  const applicationId = randomUUID()
  await storage.runner.insert('test', tableNames(storage.runner.database).apiKeys, [
    { key_hash: hash, application_id: applicationId, key_prefix: key.slice(0, 10) },
  ])
  const found = await storage.apiKeys.findByHash(hash)
  assert.ok(found)
  const derived = `${hash.slice(0, 8)}-${hash.slice(8, 12)}-4${hash.slice(13, 16)}-8${hash.slice(17, 20)}-${hash.slice(20, 32)}`
  assert.deepEqual(found, {
    id: derived,
    applicationId,
    scope: 'read-write',
    expiresAt: undefined,
    revokedAt: undefined,
  })
  // The same id names it for revocation.
  const revoked = await storage.apiKeys.revoke(derived, new Date().toISOString())
  assert.ok(revoked?.revokedAt)
  assert.ok((await storage.apiKeys.findByHash(hash))?.revokedAt)
})

test('an earlier revocation stands; a later one ends a grace period early', async () => {
  const key = newKey(randomUUID(), '2026-12-01T00:00:00.000Z')
  await storage.apiKeys.create(key)
  const grace = new Date(Date.now() + 3_600_000).toISOString()
  assert.equal((await storage.apiKeys.revoke(key.id, grace))?.revokedAt, grace)
  const now = new Date().toISOString()
  assert.equal((await storage.apiKeys.revoke(key.id, now))?.revokedAt, now)
  assert.equal((await storage.apiKeys.revoke(key.id, grace))?.revokedAt, now, 'not moved later')
  assert.equal(await storage.apiKeys.revoke(randomUUID(), now), undefined)
})

test('last use: the latest time wins; the list pages by (created, id)', async () => {
  const applicationId = randomUUID()
  const keys = [
    newKey(applicationId, '2026-12-01T00:00:00.000Z'),
    newKey(applicationId, '2026-12-01T00:00:01.000Z', 'ingest'),
    newKey(applicationId, '2026-12-01T00:00:02.000Z'),
  ]
  for (const key of keys) await storage.apiKeys.create(key)
  await storage.apiKeys.recordUse([{ keyId: keys[1]!.id, at: '2026-12-02T10:00:00.000Z' }])
  await storage.apiKeys.recordUse([{ keyId: keys[1]!.id, at: '2026-12-02T09:00:00.000Z' }])
  const first = await storage.apiKeys.list(applicationId, { limit: 2 })
  assert.deepEqual(
    first.map((k) => [k.id, k.scope, k.lastUsedAt]),
    [
      [keys[0]!.id, 'read-write', undefined],
      [keys[1]!.id, 'ingest', '2026-12-02T10:00:00.000Z'],
    ],
  )
  const rest = await storage.apiKeys.list(applicationId, {
    after: { createdAt: first[1]!.createdAt, id: first[1]!.id },
    limit: 2,
  })
  assert.deepEqual(
    rest.map((k) => k.id),
    [keys[2]!.id],
  )
  assert.deepEqual(
    (await storage.apiKeys.findByPrefix(keys[2]!.keyPrefix)).map((k) => k.id),
    [keys[2]!.id],
  )
})
