import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { RULES_JSON_SCHEMA_PATH, rulesJsonSchema } from './rules-json-schema.ts'

const REPO = join(import.meta.dirname, '..', '..', '..', '..')

test('the committed JSON Schema is the one the zod schema generates', () => {
  // Compared as JSON: the committed file is formatted by Biome like every JSON file.
  const committed = JSON.parse(readFileSync(join(REPO, RULES_JSON_SCHEMA_PATH), 'utf8'))
  assert.deepEqual(
    committed,
    rulesJsonSchema(),
    `${RULES_JSON_SCHEMA_PATH} is stale; regenerate it from the repository root:\n` +
      `  node packages/core/src/rules/rules-json-schema.ts > ${RULES_JSON_SCHEMA_PATH} && npx biome format --write ${RULES_JSON_SCHEMA_PATH}`,
  )
})

test('the schema is strict and names the recursive predicate', () => {
  const schema = rulesJsonSchema() as any
  assert.equal(schema.additionalProperties, false)
  assert.deepEqual(schema.required, ['rules'])
  const rule = schema.properties.rules.items
  assert.equal(rule.additionalProperties, false)
  assert.deepEqual(rule.required.sort(), ['application', 'dataset', 'id', 'mapping'])
  assert.equal(rule.properties.when.$ref, '#/$defs/predicate')
  assert.equal(schema.$defs.predicate.additionalProperties, false)
  assert.deepEqual(rule.properties.sample, {
    default: 1,
    description: rule.properties.sample.description,
    type: 'number',
    exclusiveMinimum: 0,
    maximum: 1,
  })
  assert.ok(rule.properties.redact.properties.detectors.items.enum.includes('all'))
})
