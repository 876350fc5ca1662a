import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { formatRuleFileError } from './rule-file.ts'
import { buildRuleSet } from './rule-set.ts'

const DIR = join(import.meta.dirname, 'fixtures', 'duplicate-across-files')
const read = (name: string) => ({ file: name, text: readFileSync(join(DIR, name), 'utf8') })

test('an id used in two files is an error on the second; the first keeps the rule', () => {
  const { rules, errors } = buildRuleSet([read('a.yaml'), read('b.yaml')])
  assert.equal(
    errors.map(formatRuleFileError).join('\n') + '\n',
    readFileSync(join(DIR, 'expected.txt'), 'utf8'),
  )
  assert.deepEqual(
    rules.map((r) => [r.id, r.origin.file]),
    [
      ['fixture-shared-id', 'a.yaml'],
      ['fixture-only-in-b', 'b.yaml'],
    ],
  )
})

test('each file is valid alone', () => {
  for (const name of ['a.yaml', 'b.yaml']) assert.deepEqual(buildRuleSet([read(name)]).errors, [])
})

test("every file's errors are kept, in file order", () => {
  const { rules, errors } = buildRuleSet([
    { file: 'x.yaml', text: 'rules: []\n' },
    read('a.yaml'),
    { file: 'y.yaml', text: 'nope: 1\n' },
  ])
  assert.deepEqual(
    errors.map((e) => e.file),
    ['x.yaml', 'y.yaml', 'y.yaml'],
  )
  assert.deepEqual(
    rules.map((r) => r.id),
    ['fixture-shared-id'],
  )
})

test('no files, no rules', () => {
  assert.deepEqual(buildRuleSet([]), { rules: [], datasets: [], errors: [] })
})

test('a dataset declared in two files is an error on the second', () => {
  const declaring = (id: string) => `datasets:
  - { name: golden, application: support-bot, kind: eval }
rules:
  - id: ${id}
    application: support-bot
    dataset: golden
    mapping: { inputs: { q: input } }
`
  const set = buildRuleSet([
    { file: 'a.yaml', text: declaring('a') },
    { file: 'b.yaml', text: declaring('b') },
  ])
  assert.equal(set.datasets.length, 1)
  assert.deepEqual(
    set.errors.map((e) => `${e.file}:${e.line}: ${e.yamlPath}: ${e.message}`),
    ['b.yaml:2: datasets[0]: dataset "golden" of application "support-bot" is already declared at a.yaml:2'],
  )
})
