import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { tableNames } from '@spansift/clickhouse/tables'
import { ADMIN_KEY, type RunningSpansift, startSpansift } from './test-harness.ts'
import { parseReadmeBlocks, type ReadmeBlock } from './test-readme-blocks.ts'

// Runs README.md as a user would copy-paste it: every fenced block, top to bottom, in one
// bash shell, against a spansift started here (embedded, on free ports named through the
// SPANSIFT_*_PORT variables the snippets read, with an admin key in SPANSIFT_ADMIN_KEY).
// JS and Python blocks start with `// file: NAME` / `# file: NAME`: they are written to
// that file first, and a later shell block runs them. A block that cannot run here carries
// `<!-- readme-test: skip — reason -->` on the line before its fence; any other block the
// test cannot run fails it. The Python quickstart runs in the venv of
// testdata/genai/setup-venv.sh against the fake OpenAI server of testdata/genai/capture.py.

const repoRoot = join(import.meta.dirname, '../../..')
const readmePath = join(repoRoot, 'README.md')
const venvBin = process.env.SPANSIFT_GENAI_PYTHON
  ? dirname(process.env.SPANSIFT_GENAI_PYTHON)
  : join(repoRoot, '.tmp/genai-venv/bin')
// Inside the repository, so `node send-span.mjs` resolves the repository's node_modules.
const workDir = join(repoRoot, 'services/cli/test-output/readme')
const SCRIPT_TIMEOUT_MS = 150_000

let s: RunningSpansift
let fakeOpenAi: ChildProcess
let fakeOpenAiUrl: string
/** The running spansift's rules directory, which the README's rules block copies a file into. */
let rulesDir: string

/** Starts capture.py's fake OpenAI-compatible server on a free loopback port. */
function startFakeOpenAi(): Promise<string> {
  const code = [
    'import sys',
    `sys.path.insert(0, ${JSON.stringify(join(repoRoot, 'testdata/genai'))})`,
    'import capture',
    'server = capture.serve(capture.FakeOpenAI)',
    'print(server.server_address[1], flush=True)',
    'sys.stdin.read()', // serves until the test closes stdin
  ].join('\n')
  fakeOpenAi = spawn(join(venvBin, 'python'), ['-c', code], { stdio: ['pipe', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fake OpenAI server: no port within 30 s')), 30_000)
    fakeOpenAi.stdout?.once('data', (d) => {
      clearTimeout(timer)
      resolve(`http://127.0.0.1:${String(d).trim()}/v1`)
    })
    fakeOpenAi.once('exit', (code) => reject(new Error(`fake OpenAI server exited ${code}`)))
  })
}

before(async () => {
  assert.ok(
    existsSync(join(venvBin, 'python')),
    `no Python venv at ${venvBin}: run testdata/genai/setup-venv.sh`,
  )
  for (const [tool, args] of [
    ['jq', ['--version']],
    ['curl', ['--version']],
    ['date', ['-u', '-d', '-1 hour']], // GNU date
  ] as const) {
    const run = spawnSync(tool, args)
    assert.equal(
      run.status,
      0,
      `the README's blocks need ${tool} (GNU date for date): not found or not working`,
    )
  }
  fakeOpenAiUrl = await startFakeOpenAi()
  rulesDir = mkdtempSync(join(tmpdir(), 'spansift-readme-rules-'))
  s = await startSpansift({ SPANSIFT_RULES_DIR: rulesDir })
})
after(async () => {
  fakeOpenAi?.stdin?.end()
  fakeOpenAi?.kill()
  await s?.stop()
  if (rulesDir) rmSync(rulesDir, { recursive: true, force: true })
})

/** Runs a bash script; resolves with its exit code and output, killing it after the timeout. */
function runBash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // Its own process group, so a timeout kills what the blocks started too (node, npx, sleep).
    const child = spawn('bash', ['-c', script], {
      cwd: workDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let output = ''
    child.stdout.on('data', (d) => {
      output += d
    })
    child.stderr.on('data', (d) => {
      output += d
    })
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), SCRIPT_TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

/** The bash script of the README's shell blocks, each announcing its README line. */
function scriptOf(blocks: ReadmeBlock[]): string {
  const parts = ['set -euo pipefail', 'trap \'echo "README block at line $README_LINE failed" >&2\' ERR']
  for (const block of blocks) {
    parts.push(`README_LINE=${block.line}; echo "::README.md:${block.line}" >&2`, block.text)
  }
  return `${parts.join('\n')}\n`
}

test('every fenced block of README.md is runnable or marked, and the runnable ones work in order', {
  timeout: SCRIPT_TIMEOUT_MS + 60_000,
}, async () => {
  const blocks = parseReadmeBlocks(readFileSync(readmePath, 'utf8'))
  const unrunnable = blocks.filter((b) => b.kind === 'unrunnable')
  assert.deepEqual(
    unrunnable.map((b) => `README.md:${b.line}: ${b.reason}`),
    [],
    'mark a block the test cannot run with <!-- readme-test: skip — why --> on the line before its fence',
  )
  const shell = blocks.filter((b) => b.kind === 'shell')
  const fixedDates = shell.filter((b) => /\d{4}-\d{2}-\d{2}T/.test(b.text)).map((b) => b.line)
  assert.deepEqual(fixedDates, [], 'runnable blocks compute their dates (date -u …), never a fixed one')
  const files = blocks.filter((b) => b.kind === 'file')
  assert.ok(shell.length >= 5 && files.length >= 3, 'the quickstarts are there')

  rmSync(workDir, { recursive: true, force: true })
  mkdirSync(workDir, { recursive: true })
  for (const file of files) writeFileSync(join(workDir, file.fileName!), file.text)
  // curl as the user sees it, except that an HTTP error fails the block (the README's
  // `curl -s` alone exits 0 on a 4xx); a call that passes -f itself is left alone.
  const realCurl = spawnSync('bash', ['-c', 'command -v curl'], { encoding: 'utf8' }).stdout.trim()
  mkdirSync(join(workDir, 'bin'))
  writeFileSync(
    join(workDir, 'bin/curl'),
    [
      '#!/usr/bin/env bash',
      'for a in "$@"; do case "$a" in --fail | --fail-with-body | -[a-zA-Z]*f*) exec ' +
        realCurl +
        ' "$@" ;; esac; done',
      `exec ${realCurl} --fail-with-body --show-error "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  )

  const ports = s.spansift.ports()
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('SPANSIFT_') && !name.startsWith('OTEL_'),
    ),
  )
  Object.assign(env, {
    SPANSIFT_API_PORT: String(ports.api),
    SPANSIFT_OTLP_HTTP_PORT: String(ports.otlpHttp),
    SPANSIFT_OTLP_GRPC_PORT: String(ports.otlpGrpc),
    SPANSIFT_ADMIN_KEY: ADMIN_KEY,
    SPANSIFT_RULES_DIR: rulesDir,
    PATH: `${join(workDir, 'bin')}:${venvBin}:${dirname(process.execPath)}:${process.env.PATH}`,
    OPENAI_BASE_URL: fakeOpenAiUrl,
    OPENAI_API_KEY: 'sk-fake',
  })
  const { code, output } = await runBash(scriptOf(shell), env)
  const how =
    code === null
      ? `were killed after ${SCRIPT_TIMEOUT_MS / 1000} s (a wait that never ended?)`
      : `failed (exit ${code})`
  assert.equal(
    code,
    0,
    `the README's blocks ${how}; the last ::README.md:LINE below is the block:\n${output}`,
  )
  if (process.env.README_TEST_VERBOSE) console.log(output) // to see the transcript when it passes

  // What a user reading along checks.
  assert.match(output, /"name":\s*"chat gpt-4o"/, 'the span read back')
  assert.match(output, /Paris is the capital of France\./, 'the Python quickstart got its answer')
  assert.match(
    output,
    /"question":\s*"What is the capital of France\?"/,
    'the Python span became an eval row',
  )
  assert.match(output, /"excluded":\s*1,/, 'the leakage guard kept the eval span out of the training dataset')
  assert.match(output, /"annotation_status":\s*"filled"/, 'the row was annotated')
  assert.match(output, /"content":"Where is my refund\?"/, 'the chat export holds the training row')
  assert.match(output, /\{"state":"done",/, 'the from-search job finished')
  assert.match(output, /support training/, 'the CLI lists the datasets')
  assert.match(output, /plan: 2 datasets to create/, 'the rules plan')
  assert.match(
    output,
    /empty +- +\S+ +\{"question":"Where is my refund\?"\}/,
    'the rule appended the new span',
  )
  const storage = s.spansift.storage()
  const grpc = await storage.runner.select<{ n: string }>(
    'test.readme',
    `SELECT count() AS n FROM ${tableNames(storage.runner.database).spans} WHERE name = 'over grpc'`,
    {},
  )
  assert.equal(Number(grpc[0]?.n), 1, 'the span sent over gRPC is stored')
})
