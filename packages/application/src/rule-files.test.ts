import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { formatRuleFileError } from '@spansift/core/rules/rule-file'
import { isRuleFileName, listRuleFiles, loadRuleFiles, RulesDirectoryError } from './rule-files.ts'

const APP = '3c90c3cc-0d44-4b50-8888-8dd25736052a'
const DATASET = '7c1e5f3a-0b9d-4c1e-9a7b-2d4e6f8a0b1c'
const ruleFile = (...ids: string[]) =>
  `rules:\n${ids
    .map(
      (id) =>
        `  - id: ${id}\n    application: ${APP}\n    dataset: ${DATASET}\n    mapping: { inputs: { q: input } }\n`,
    )
    .join('')}`

let dir: string
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'spansift-rules-'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** A fresh directory under the test's temporary one. */
function directory(name: string, files: Record<string, string>): string {
  const path = join(dir, name)
  mkdirSync(path)
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(path, file, '..'), { recursive: true })
    writeFileSync(join(path, file), text)
  }
  return path
}

test('reads *.yaml and *.yml directly in the directory, sorted; not subdirectories, hidden or other files', async () => {
  const path = directory('mixed', {
    'b.yml': ruleFile('b'),
    'a.yaml': ruleFile('a1', 'a2'),
    'notes.md': 'not rules',
    'c.yaml.bak': 'rules: nope',
    '.#a.yaml': 'an editor lock file',
    'examples/x.yaml': ruleFile('x'),
  })
  const { rules, errors, files } = await loadRuleFiles(path)
  assert.deepEqual(errors, [])
  assert.deepEqual(files, [join(path, 'a.yaml'), join(path, 'b.yml')])
  assert.deepEqual(
    rules.map((r) => [r.id, r.origin.file]),
    [
      ['a1', join(path, 'a.yaml')],
      ['a2', join(path, 'a.yaml')],
      ['b', join(path, 'b.yml')],
    ],
  )
  assert.deepEqual(await listRuleFiles(path), files)
})

test('errors name the file as a path under the directory; duplicate ids across files are found', async () => {
  const path = directory('invalid', { 'a.yaml': ruleFile('same'), 'b.yaml': `${ruleFile('same')}extra: 1\n` })
  const { rules, errors } = await loadRuleFiles(path)
  assert.deepEqual(errors.map(formatRuleFileError), [
    `${join(path, 'b.yaml')}:2:9: rules[0].id: duplicate rule id "same": also defined at ${join(path, 'a.yaml')}:2`,
    `${join(path, 'b.yaml')}:6:1: extra: unknown key "extra"; expected one of: datasets, rules`,
  ])
  assert.deepEqual(
    rules.map((r) => r.id),
    ['same'],
  )
})

test('symlinked files are read (Kubernetes ConfigMaps); a dangling one is that file’s error', async () => {
  const path = directory('linked', { '..data/a.yaml': ruleFile('linked') })
  symlinkSync(join(path, '..data', 'a.yaml'), join(path, 'a.yaml'))
  symlinkSync(join(path, 'missing.yaml'), join(path, 'gone.yaml'))
  const { rules, errors } = await loadRuleFiles(path)
  assert.deepEqual(
    rules.map((r) => r.id),
    ['linked'],
  )
  assert.deepEqual(errors.map(formatRuleFileError), [
    `${join(path, 'gone.yaml')}: cannot read the file (ENOENT)`,
  ])
})

test('an empty directory has no rules and no errors', async () => {
  assert.deepEqual(await loadRuleFiles(directory('empty', {})), {
    rules: [],
    datasets: [],
    errors: [],
    files: [],
  })
})

test('a missing directory, or a file given as one, is an error naming it', async () => {
  const missing = join(dir, 'no-such-dir')
  await assert.rejects(loadRuleFiles(missing), (error: unknown) => {
    assert.ok(error instanceof RulesDirectoryError)
    assert.equal(error.message, `rules directory ${missing}: does not exist`)
    return true
  })
  const file = join(directory('file', { 'a.yaml': ruleFile('a') }), 'a.yaml')
  await assert.rejects(loadRuleFiles(file), { message: `rules directory ${file}: is not a directory` })
})

test('rule file names', () => {
  for (const name of ['a.yaml', 'a.yml', 'team.rules.yaml']) assert.equal(isRuleFileName(name), true, name)
  for (const name of ['a.json', '.a.yaml', 'a.yaml~', 'yaml']) assert.equal(isRuleFileName(name), false, name)
})
