import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { ADMIN_KEY, type RunningSpansift, startSpansift } from './test-harness.ts'
import { otlpJsonExport, randomHexId } from './test-otlp.ts'

// Names in rule files, end to end: unique application names, declared datasets created by
// `spansift rules apply` (the real binary, as its own process), and a rule worker that
// resolves the same names to append rows.

const main = join(import.meta.dirname, 'main.ts')
let s: RunningSpansift
let tmp: string
let gitopsDir: string

function spansift(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args, '--api-url', s.apiUrl, '--key', ADMIN_KEY],
      { env: { PATH: process.env.PATH ?? '' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

const RULE_FILE = (evalKind = 'eval') => `datasets:
  - { name: support-eval, application: support-bot, kind: ${evalKind} }
  - { name: support-train, application: support-bot, kind: training, exclude: support-eval }
rules:
  - id: named-eval
    application: support-bot
    dataset: support-eval
    when: { field: span.name, equals: answer }
    mapping: { inputs: { name: span.name } }
`

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(value)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

before(async () => {
  s = await startSpansift({}, { rulesPollIntervalMs: 100 })
  tmp = mkdtempSync(join(tmpdir(), 'spansift-names-'))
  gitopsDir = join(tmp, 'rules')
  await import('node:fs/promises').then((fs) => fs.mkdir(gitopsDir))
})
after(async () => {
  await s?.stop()
  rmSync(tmp, { recursive: true, force: true })
})

test('application names are unique and usable wherever an id is', async () => {
  const created = await spansift(['applications', 'create', 'support-bot', '--json'])
  assert.equal(created.code, 0, created.stderr)
  const app = JSON.parse(created.stdout) as { id: string }
  const again = await spansift(['applications', 'create', 'support-bot'])
  assert.equal(again.code, 1)
  assert.match(again.stderr, /409 conflict: an application named "support-bot" exists/)
  const uuidName = await s.api('POST', '/v1/applications', ADMIN_KEY, { name: randomUUIDLike() })
  assert.equal(uuidName.status, 400)

  const byQuery = await s.api('GET', '/v1/applications?name=support-bot', ADMIN_KEY)
  assert.deepEqual(
    byQuery.body.applications.map((a: { id: string }) => a.id),
    [app.id],
  )
  const byPath = await s.api('GET', '/v1/applications/support-bot', ADMIN_KEY)
  assert.equal(byPath.body.id, app.id)
  const shown = await spansift(['applications', 'show', 'support-bot'])
  assert.equal(shown.code, 0, shown.stderr)
  assert.match(shown.stdout, new RegExp(`^${app.id}\\s+support-bot\\s+`, 'm'))
  assert.equal((await s.api('GET', `/v1/applications/${app.id}`, ADMIN_KEY)).body.name, 'support-bot')
  assert.equal((await s.api('GET', '/v1/applications/nobody', ADMIN_KEY)).status, 404)

  // The CLI takes the name too: a key for it, and datasets of it.
  const key = await spansift(['keys', 'create', 'support-bot'])
  assert.equal(key.code, 0, key.stderr)
  assert.match(key.stdout, /^ssk_/)
  const ds = await spansift([
    'datasets',
    'create',
    'by-name',
    '--application',
    'support-bot',
    '--kind',
    'eval',
  ])
  assert.equal(ds.code, 0, ds.stderr)
  const dup = await s.api('POST', '/v1/datasets', ADMIN_KEY, {
    name: 'by-name',
    application_id: app.id,
    kind: 'training',
  })
  assert.equal(dup.status, 409, 'a dataset name is unique within its application')
  const listed = await spansift(['datasets', 'list', '--application', 'support-bot'])
  assert.equal(listed.code, 0, listed.stderr)
  assert.match(listed.stdout, /by-name/)
})

test('validate --server, plan, apply: declared datasets are created once, never changed', async () => {
  const file = join(gitopsDir, 'support.yaml')
  writeFileSync(file, RULE_FILE())

  const validated = await spansift(['rules', 'validate', gitopsDir, '--server'])
  assert.equal(validated.code, 0, validated.stderr)
  assert.match(validated.stdout, /1 rule in 1 file is valid; every name resolves/)

  const plan = await spansift(['rules', 'plan', gitopsDir])
  assert.equal(plan.code, 0, plan.stderr)
  assert.match(plan.stdout, /\+ create {5}support-eval \(eval\) in support-bot/)
  assert.match(plan.stdout, /\+ create {5}support-train \(training, excludes support-eval\) in support-bot/)
  assert.match(plan.stdout, /named-eval: support-bot \/ support-eval -> the dataset this plan creates/)
  assert.match(plan.stdout, /plan: 2 datasets to create, 0 unchanged, 1 rule/)

  // The worker resolves the same names, and waits for apply rather than creating datasets.
  const rulesDir = s.spansift.rules().status().reload.dir
  writeFileSync(join(rulesDir, 'support.yaml'), RULE_FILE())
  const waiting = await waitFor(
    async () => (await s.api('GET', '/v1/rules', ADMIN_KEY)).body.rules,
    (rules: any[]) => rules.length === 1,
    'the rule loads',
  )
  assert.equal(waiting[0].state, 'error')
  assert.match(waiting[0].error, /declared at .*support\.yaml:2: run spansift rules apply to create it/)
  assert.deepEqual(
    [waiting[0].application, waiting[0].dataset, waiting[0].dataset_id],
    ['support-bot', 'support-eval', null],
  )
  // A rule whose names do not resolve cannot be dry-run or backfilled: a clear 409, not a crash.
  const range = {
    start_time: new Date(Date.now() - 3_600_000).toISOString(),
    end_time: new Date().toISOString(),
  }
  const dry = await s.api('POST', '/v1/rules/named-eval/test', ADMIN_KEY, range)
  assert.equal(dry.status, 409)
  assert.match(dry.body.error.message, /does not resolve/)

  const applied = await spansift(['rules', 'apply', gitopsDir])
  assert.equal(applied.code, 0, applied.stderr)
  assert.match(applied.stdout, /created dataset support-eval in support-bot: [0-9a-f-]{36}\n/)
  assert.match(applied.stdout, /applied: 2 datasets created\n$/)
  const { datasets } = (await s.api('GET', '/v1/datasets?name=support-train', ADMIN_KEY)).body
  const evalSet = (await s.api('GET', '/v1/datasets?name=support-eval', ADMIN_KEY)).body.datasets[0]
  assert.equal(datasets[0].exclude_dataset_id, evalSet.id)

  const json = JSON.parse((await spansift(['rules', 'validate', gitopsDir, '--server', '--json'])).stdout)
  assert.equal(json.valid, true)
  assert.deepEqual(
    json.targets.map((t: any) => [t.id, t.status, t.dataset_id]),
    [['named-eval', 'resolved', evalSet.id]],
  )
  assert.deepEqual(
    JSON.parse((await spansift(['rules', 'plan', gitopsDir, '--json'])).stdout).datasets.map((d: any) => [
      d.action,
      d.name,
    ]),
    [
      ['unchanged', 'support-eval'],
      ['unchanged', 'support-train'],
    ],
  )
  const replan = await spansift(['rules', 'plan', gitopsDir])
  assert.equal(replan.code, 0, replan.stderr)
  assert.match(replan.stdout, /plan: 0 datasets to create, 2 unchanged/)
  const reapplied = await spansift(['rules', 'apply', gitopsDir])
  assert.match(reapplied.stdout, /applied: 0 datasets created/)

  // A declaration that differs from what is stored is an error at its line; nothing changes.
  writeFileSync(file, RULE_FILE('training'))
  const differing = await spansift(['rules', 'apply', gitopsDir])
  assert.equal(differing.code, 1)
  assert.match(
    differing.stderr,
    /support\.yaml:2:5: datasets\[0\]\.kind: dataset "support-eval" \([0-9a-f-]{36}\) is stored as eval, declared training; spansift never changes/,
  )
  assert.match(differing.stderr, /nothing was applied/)
  assert.equal((await s.api('GET', `/v1/datasets/${evalSet.id}`, ADMIN_KEY)).body.kind, 'eval')

  // Unknown names fail validate --server, each on its rule's line.
  writeFileSync(
    file,
    `rules:
  - id: lost
    application: support-bott
    dataset: support-eval
    mapping: { inputs: { name: span.name } }
`,
  )
  const unknown = await spansift(['rules', 'validate', gitopsDir, '--server'])
  assert.equal(unknown.code, 1)
  assert.match(unknown.stderr, /support\.yaml:3:18: rules\[0\]\.application: no application "support-bott"\n/)
  // Offline, the same file is valid: names are only checked against a server.
  const offline = await new Promise<{ code: number; stdout: string }>((resolve) =>
    execFile(process.execPath, [main, 'rules', 'validate', gitopsDir], (error, stdout) =>
      resolve({ code: error ? Number(error.code) : 0, stdout }),
    ),
  )
  assert.deepEqual(offline, {
    code: 0,
    stdout: '1 rule in 1 file is valid; names are checked against a running spansift with --server\n',
  })

  // Once the dataset exists, the worker's next resolution makes the rule run and append.
  await s.spansift.rules().reload()
  const active = (await s.api('GET', '/v1/rules', ADMIN_KEY)).body.rules[0]
  assert.equal(active.state, 'active', JSON.stringify(active))
  assert.equal(active.dataset_id, evalSet.id)
  const key = (await s.api('POST', `/v1/applications/${active.application_id}/keys`, ADMIN_KEY)).body.key
  const sent = await fetch(s.otlpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: otlpJsonExport([{ traceId: randomHexId(16), spanId: randomHexId(8), name: 'answer' }]),
  })
  assert.equal(sent.status, 200)
  await waitFor(
    async () => (await s.api('GET', `/v1/datasets/${evalSet.id}/items`, ADMIN_KEY)).body.items,
    (items: any[]) => items.length === 1,
    'the span becomes a row of the dataset named in the rule file',
  )
})

test('names stay unique when creates race; an application key finds only its own application', async () => {
  const racers = await Promise.all(
    Array.from({ length: 8 }, () => s.api('POST', '/v1/applications', ADMIN_KEY, { name: 'racer' })),
  )
  assert.deepEqual(racers.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409, 409, 409])
  const racer = racers.find((r) => r.status === 201)!.body as { id: string }
  const datasets = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      s.api('POST', '/v1/datasets', ADMIN_KEY, {
        name: 'contested',
        application_id: racer.id,
        kind: i % 2 === 0 ? 'eval' : 'training',
      }),
    ),
  )
  assert.equal(datasets.filter((r) => r.status === 201).length, 1)
  assert.equal(datasets.filter((r) => r.status === 409).length, 7)
  const listed = (await s.api('GET', `/v1/datasets?application_id=${racer.id}&name=contested`, ADMIN_KEY))
    .body
  assert.equal(listed.datasets.length, 1)

  const key = (await s.api('POST', '/v1/applications/racer/keys', ADMIN_KEY)).body.key as string
  assert.equal((await s.api('GET', '/v1/applications/racer', key)).body.id, racer.id)
  assert.equal((await s.api('GET', '/v1/applications/support-bot', key)).status, 404)
  assert.equal((await s.api('GET', '/v1/applications?name=racer', key)).status, 403)
})

function randomUUIDLike(): string {
  return '3c90c3cc-0d44-4b50-8888-8dd25736052a'
}
