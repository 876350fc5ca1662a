import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { ADMIN_KEY, type RunningSpansift, startSpansift } from './test-harness.ts'

// Schemathesis fuzzes the running API from its own /openapi.json, in positive mode (every
// schema-valid request must be accepted or refused with a documented status, and every
// answer must match its documented schema) and negative mode (every schema-invalid request
// must be refused with a 4xx). Any finding fails the test. Needs the venv of
// testdata/schemathesis/setup-venv.sh (.ci/run makes it; SPANSIFT_SCHEMATHESIS names another).
const repoRoot = join(import.meta.dirname, '../../..')
const schemathesis =
  process.env.SPANSIFT_SCHEMATHESIS ?? join(repoRoot, '.tmp/schemathesis-venv/bin/schemathesis')
const baseConfig = join(repoRoot, 'testdata/schemathesis/schemathesis.toml')
/** Examples per operation and mode: enough to cover every operation, bounded for 2 busy cores. */
const MAX_EXAMPLES = 10
/** One mode's run: about 20 s (positive) and 70 s (negative) on 2 busy cores. */
const RUN_DEADLINE_MS = 150_000

let s: RunningSpansift
let appKey: string
let config: string
/** Schemathesis keeps a cache of findings in its working directory: a fresh one, removed after. */
const workDir = mkdtempSync(join(tmpdir(), 'spansift-schemathesis-'))

before(async () => {
  assert.ok(
    existsSync(schemathesis),
    `no schemathesis at ${schemathesis}: run testdata/schemathesis/setup-venv.sh`,
  )
  s = await startSpansift()
  // Data for the operations to reach past 404: an application, its key, a dataset.
  const app = await s.createApplication('fuzzed-app')
  appKey = app.key
  const dataset = await s.api('POST', '/v1/datasets', appKey, { name: 'fuzzed-dataset', kind: 'eval' })
  assert.equal(dataset.status, 201, JSON.stringify(dataset.body))
  // Half the generated path ids are these, so the operations reach past 404 into their logic.
  config = join(workDir, 'schemathesis.toml')
  writeFileSync(
    config,
    `${readFileSync(baseConfig, 'utf8')}
[dictionaries.known_datasets]
values = ["${dataset.body.id}"]

[dictionaries.known_applications]
values = ["${app.id}", "fuzzed-app"]

[[operations]]
include-path-regex = "^/v1/datasets/\\\\{id\\\\}"
parameters = { "path.id" = { dictionary = "known_datasets", probability = 0.5 } }

[dictionaries.known_application_ids]
values = ["${app.id}"]

[[operations]]
include-path-regex = "^/v3/evals/datasets/"
parameters = { "path.dataset_id" = { dictionary = "known_datasets", probability = 0.5 }, "body.application_id" = { dictionary = "known_application_ids", probability = 0.5 } }

[[operations]]
include-path-regex = "^/v1/(spans/search|traces/|datasets)"
parameters = { "body.application_id" = { dictionary = "known_application_ids", probability = 0.5 }, "query.application_id" = { dictionary = "known_application_ids", probability = 0.5 } }

[[operations]]
include-path-regex = "^/v1/applications/"
parameters = { "path.application" = { dictionary = "known_applications", probability = 0.5 } }
`,
  )
})

after(async () => {
  await s?.stop()
  rmSync(workDir, { recursive: true, force: true })
})

/** Runs schemathesis in one mode; resolves with its exit code and output. */
function runSchemathesis(mode: 'positive' | 'negative'): Promise<{ code: number | null; output: string }> {
  const args = [
    '--config-file',
    config,
    'run',
    `${s.apiUrl}/openapi.json`,
    '--checks',
    'all',
    '--mode',
    mode,
    '--max-examples',
    String(MAX_EXAMPLES),
    '--workers',
    '1',
    '--seed',
    '1',
    '--generation-database',
    'none',
    '--no-color',
    // Operations with nothing to make invalid (no parameters, a free-text name) cannot
    // yield negative examples; that is a generation limit, not a finding.
    // Two operations take no input at all but the key, so have no negative case.
    ...(mode === 'negative'
      ? [
          '--suppress-health-check',
          'filter_too_much',
          '--exclude-path',
          '/v1/principal',
          '--exclude-path',
          '/v1/rules',
        ]
      : []),
  ]
  return new Promise((resolve, reject) => {
    const child = spawn(schemathesis, args, {
      env: { ...process.env, SPANSIFT_FUZZ_ADMIN_KEY: ADMIN_KEY, SPANSIFT_FUZZ_APP_KEY: appKey },
      cwd: workDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_DEADLINE_MS)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

for (const mode of ['positive', 'negative'] as const) {
  test(`schemathesis in ${mode} mode finds no mismatch between /openapi.json and the API`, async (t) => {
    const { code, output } = await runSchemathesis(mode)
    for (const line of output.split('\n').filter((l) => /generated|⚠️/.test(l))) t.diagnostic(line.trim())
    // Every operation was tested, and the run ended clean.
    assert.match(output, /Tested: (\d+)/, output.slice(-4000))
    const tested = Number(/Tested: (\d+)/.exec(output)![1])
    const selected = Number(/Selected: (\d+)\//.exec(output)?.[1] ?? Number.NaN)
    assert.equal(tested, selected, `only ${tested} of ${selected} operations tested\n${output.slice(-4000)}`)
    assert.equal(code, 0, `schemathesis ${mode} exited ${code}:\n${output.slice(-8000)}`)
  })
}
