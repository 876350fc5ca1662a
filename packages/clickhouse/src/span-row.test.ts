import assert from 'node:assert/strict'
import { test } from 'node:test'
import { migrations, SPAN_JSON_EXPRESSION } from './migrations.ts'
import { SPAN_JSON_FIELDS } from './span-row.ts'
import { tableNames } from './tables.ts'

test('span_json (migration 12) holds the fields spanFromJsonRow reads, in its order', () => {
  // The expressions of the frozen migration, each named by the column it reads: a field
  // added to or moved in SPAN_JSON_FIELDS without a migration would read the wrong values.
  const columns = [...SPAN_JSON_EXPRESSION.matchAll(/\b([a-z_]+)\b(?![(])/g)]
    .map((m) => m[1]!)
    .filter((name) => !['toJSONString', 'tuple', 'toString', 'toUnixTimestamp64Nano'].includes(name))
  const expected = SPAN_JSON_FIELDS.map((field) =>
    field === 'start_ns' ? 'start_time' : field === 'end_ns' ? 'end_time' : field,
  )
  assert.deepEqual(columns, expected)
  const [added] = migrations.find((m) => m.version === 12)!.statements(tableNames('spansift'))
  assert.ok(added!.includes(SPAN_JSON_EXPRESSION))
})
