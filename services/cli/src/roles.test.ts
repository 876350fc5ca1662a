import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseRoles } from './roles.ts'

test('roles: repeatable, comma-separated, all by default', () => {
  assert.deepEqual([...parseRoles([])].sort(), ['api', 'receiver', 'rule-worker', 'span-writer'])
  assert.deepEqual([...parseRoles(['all'])].sort(), ['api', 'receiver', 'rule-worker', 'span-writer'])
  assert.deepEqual([...parseRoles(['receiver', 'api'])].sort(), ['api', 'receiver'])
  assert.deepEqual([...parseRoles(['span-writer,api'])].sort(), ['api', 'span-writer'])
  assert.throws(() => parseRoles(['writer']), /unknown role "writer"/)
})
