import assert from 'node:assert/strict'
import { test } from 'node:test'
import { migrations, SPAN_JSON_ROW } from './migrations.ts'
import { SPAN_COLUMNS } from './span-row.ts'
import { tableNames } from './tables.ts'

test('span_json (migration 12) holds exactly the columns rowToSpan reads', () => {
  // A change of SPAN_COLUMNS without a migration that rewrites span_json would leave
  // lookups reading the old row shape.
  assert.equal(SPAN_JSON_ROW, SPAN_COLUMNS)
  const [statement] = migrations.find((m) => m.version === 12)!.statements(tableNames('spansift'))
  assert.ok(statement!.includes(SPAN_COLUMNS))
})
