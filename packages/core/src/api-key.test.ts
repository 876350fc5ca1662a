import assert from 'node:assert/strict'
import { test } from 'node:test'
import { extractApiKey, generateApiKey, hashApiKey, secretsEqual } from './api-key.ts'

test('generated keys are unique, prefixed, and hash to 64 hex characters', () => {
  const a = generateApiKey()
  const b = generateApiKey()
  assert.notEqual(a, b)
  assert.match(a, /^ssk_[A-Za-z0-9_-]{43}$/)
  assert.match(hashApiKey(a), /^[0-9a-f]{64}$/)
  assert.equal(hashApiKey(a), hashApiKey(a))
})

test('reads the key from a bearer header or X-API-KEY', () => {
  assert.equal(extractApiKey({ authorization: 'Bearer abc' }), 'abc')
  assert.equal(extractApiKey({ authorization: 'bearer  abc ' }), 'abc')
  assert.equal(extractApiKey({ apiKey: 'xyz' }), 'xyz')
  assert.equal(extractApiKey({ authorization: 'Basic Zm9v', apiKey: 'xyz' }), 'xyz')
  assert.equal(extractApiKey({ authorization: 'Basic Zm9v' }), undefined)
  assert.equal(extractApiKey({}), undefined)
})

test('compares secrets in constant time and correctly', () => {
  assert.equal(secretsEqual('admin-secret', 'admin-secret'), true)
  assert.equal(secretsEqual('admin-secret', 'admin-secreT'), false)
  assert.equal(secretsEqual('a', 'a-longer-one'), false)
})
