import { z } from 'zod'
import { ruleFileSchema } from './rule-schema.ts'

/** Where the generated schema is committed, relative to the repository root. */
export const RULES_JSON_SCHEMA_PATH = 'rules/spansift-rules.schema.json'

const PREDICATE_DESCRIPTION =
  'A condition on a span: {field: <path>, <operator>: <value>} with exactly one operator, {all: [...]}, {any: [...]}, {not: ...} or {event: {name, where}}.'

/**
 * The JSON Schema of a rule file, generated from the zod schema the loader validates
 * with, so editors (yaml-language-server) check rule files as spansift does. What the
 * loader checks in code (one operator per predicate, field types, regex syntax,
 * duplicate ids) is not expressed here: `spansift rules validate` checks it all.
 */
export function rulesJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(ruleFileSchema, { io: 'input', unrepresentable: 'any' })
  // zod names the recursive predicate `__schema0`; give it a name a reader understands.
  const defs = (generated.$defs ?? {}) as Record<string, { properties?: Record<string, unknown> }>
  const renames = new Map<string, string>()
  for (const [name, def] of Object.entries(defs)) {
    if (def.properties && 'field' in def.properties && 'all' in def.properties) renames.set(name, 'predicate')
  }
  let text = JSON.stringify(generated)
  for (const [from, to] of renames) text = text.replaceAll(`"#/$defs/${from}"`, `"#/$defs/${to}"`)
  const schema = JSON.parse(text) as Record<string, unknown> & { $defs?: Record<string, object> }
  if (schema.$defs) {
    schema.$defs = Object.fromEntries(
      Object.entries(schema.$defs).map(([name, def]) => {
        const renamed = renames.get(name)
        return renamed ? [renamed, { description: PREDICATE_DESCRIPTION, ...def }] : [name, def]
      }),
    )
  }
  return schema
}

/** The committed file's text: the schema, two-space indented, with a final newline. */
export function rulesJsonSchemaText(): string {
  return `${JSON.stringify(rulesJsonSchema(), null, 2)}\n`
}

// Regenerate (from the repository root; Biome then formats it like every JSON file):
//   node packages/core/src/rules/rules-json-schema.ts > rules/spansift-rules.schema.json
//   npx biome format --write rules/spansift-rules.schema.json
if (import.meta.main) process.stdout.write(rulesJsonSchemaText())
