import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

// `spansift rules validate`, the real binary as its own process, on the shared fixtures.
const main = join(import.meta.dirname, 'main.ts')
const REPO = join(import.meta.dirname, '..', '..', '..')
const FIXTURES = join(REPO, 'packages', 'core', 'src', 'rules', 'fixtures')
const EXAMPLES = join(REPO, 'rules', 'examples')

interface Run {
  code: number
  stdout: string
  stderr: string
}

function spansift(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      {
        cwd: options.cwd ?? REPO,
        env: { PATH: process.env.PATH ?? '', ...options.env },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

let tmp: string
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'spansift-rules-cli-'))
})
after(() => rmSync(tmp, { recursive: true, force: true }))

const VALID = `rules:
  - id: only
    application: 3c90c3cc-0d44-4b50-8888-8dd25736052a
    dataset: 7c1e5f3a-0b9d-4c1e-9a7b-2d4e6f8a0b1c
    mapping: { inputs: { q: input } }
`

describe('spansift rules validate', () => {
  test('invalid files: every problem on its own line, file:line:column: path: message; exit 1', async () => {
    const run = await spansift(['rules', 'validate', '.'], { cwd: FIXTURES })
    assert.equal(run.code, 1, run.stderr)
    assert.equal(run.stdout, '')
    const fixtures = readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
    const expected = fixtures.map((f) =>
      readFileSync(join(FIXTURES, f.replace(/\.yaml$/, '.expected.txt')), 'utf8'),
    )
    const problems = expected.join('').split('\n').filter(Boolean).length
    assert.equal(
      run.stderr,
      `${expected.join('')}spansift: ${problems} problems in ${fixtures.length} of ${fixtures.length} files\n`,
    )
  })

  test('valid files: how many rules in how many files; exit 0', async () => {
    const run = await spansift(['rules', 'validate', EXAMPLES])
    assert.equal(run.code, 0, run.stderr)
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml')).length
    assert.match(run.stdout, new RegExp(`^\\d+ rules in ${files} files are valid\\n$`))
    assert.equal(run.stderr, '')
  })

  test('the directory defaults to SPANSIFT_RULES_DIR, else ./rules', async () => {
    const dir = join(tmp, 'from-env')
    mkdirSync(dir)
    writeFileSync(join(dir, 'one.yaml'), VALID)
    const fromEnv = await spansift(['rules', 'validate'], { env: { SPANSIFT_RULES_DIR: dir } })
    assert.equal(fromEnv.code, 0, fromEnv.stderr)
    assert.equal(fromEnv.stdout, '1 rule in 1 file is valid\n')

    const cwd = join(tmp, 'project')
    mkdirSync(join(cwd, 'rules'), { recursive: true })
    writeFileSync(join(cwd, 'rules', 'a.yaml'), VALID.replace('id: only', 'id: a'))
    writeFileSync(join(cwd, 'rules', 'b.yaml'), VALID.replace('id: only', 'id: b'))
    const fromCwd = await spansift(['rules', 'validate'], { cwd })
    assert.equal(fromCwd.code, 0, fromCwd.stderr)
    assert.equal(fromCwd.stdout, '2 rules in 2 files are valid\n')
  })

  test('an empty directory is valid, and says it has no rule files', async () => {
    const dir = join(tmp, 'empty')
    mkdirSync(dir)
    const run = await spansift(['rules', 'validate', dir])
    assert.equal(run.code, 0)
    assert.equal(run.stdout, '0 rules in 0 files are valid\n')
    assert.equal(run.stderr, `spansift: no rule files (*.yaml, *.yml) in ${dir}\n`)
  })

  test('a missing directory is a one-line error naming it; exit 1', async () => {
    const run = await spansift(['rules', 'validate', 'no/such/dir'])
    assert.equal(run.code, 1)
    assert.equal(run.stderr, 'spansift: rules directory no/such/dir: does not exist\n')
  })

  test('--json reports the same, as one JSON document', async () => {
    const run = await spansift(['rules', 'validate', '--json', '.'], {
      cwd: join(FIXTURES, 'duplicate-across-files'),
    })
    assert.equal(run.code, 1)
    const body = JSON.parse(run.stdout)
    assert.equal(body.valid, false)
    assert.equal(body.rules, 2)
    assert.deepEqual(body.files, ['a.yaml', 'b.yaml'])
    assert.deepEqual(
      body.errors.map((e: { text: string }) => `${e.text}\n`).join(''),
      readFileSync(join(FIXTURES, 'duplicate-across-files', 'expected.txt'), 'utf8'),
    )
    assert.deepEqual(Object.keys(body.errors[0]).sort(), [
      'column',
      'file',
      'line',
      'message',
      'text',
      'yamlPath',
    ])
  })

  test('usage: --help exits 0; a bad option or a second directory exits 2 with one line', async () => {
    const help = await spansift(['rules', 'validate', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /^spansift rules validate — /)
    const group = await spansift(['rules', '--help'])
    assert.equal(group.code, 0)
    assert.match(group.stdout, /\n {2}validate {2,}check rule files/)
    const top = await spansift(['--help'])
    assert.match(
      top.stdout,
      /\n {2}rules {2,}check rule files, plan and apply their datasets, list the rules in force, dry-run and backfill them\n/,
    )

    const bad = await spansift(['rules', 'validate', '--strict'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^spansift: Unknown option '--strict'; run spansift rules validate --help\n$/)
    const two = await spansift(['rules', 'validate', 'a', 'b'])
    assert.equal(two.code, 2)
    assert.equal(two.stderr, 'spansift: unexpected argument "b"; run spansift rules validate --help\n')
    const none = await spansift(['rules'])
    assert.equal(none.code, 2)
    const unknown = await spansift(['rules', 'lint'])
    assert.equal(unknown.code, 2)
    assert.equal(unknown.stderr, 'spansift: unknown subcommand "rules lint"; run spansift rules --help\n')
  })
})
