import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ADMIN_KEY, type RunningSpansift, randomHex, recentSpan, startSpansift } from './test-harness.ts'

// The real `spansift` binary, as its own process, against a spansift started in this one.
const main = join(import.meta.dirname, 'main.ts')

let s: RunningSpansift
let tmp: string

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs `spansift …` (never synchronously: the server it calls lives in this process). */
function spansift(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

const admin = () => ['--api-url', s.apiUrl, '--key', ADMIN_KEY]

before(async () => {
  s = await startSpansift()
  tmp = mkdtempSync(join(tmpdir(), 'spansift-cli-'))
})
after(async () => {
  await s?.stop()
  rmSync(tmp, { recursive: true, force: true })
})

describe('spansift CLI against a running spansift', () => {
  let applicationId: string
  let datasetId: string

  test('applications create, then list shows it (text and --json)', async () => {
    const created = await spansift(['applications', 'create', 'cli-bot', '--json', ...admin()])
    assert.equal(created.code, 0, created.stderr)
    const application = JSON.parse(created.stdout) as { id: string; name: string }
    assert.equal(application.name, 'cli-bot')
    applicationId = application.id

    const text = await spansift(['applications', 'create', 'second bot', ...admin()])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^created application second bot: [0-9a-f-]{36}\n$/)

    const listed = await spansift(['applications', 'list', ...admin()])
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /^ID\s+NAME\s+CREATED\n/)
    assert.match(listed.stdout, new RegExp(`${applicationId}\\s+cli-bot`))
    const json = await spansift(['applications', 'list', '--json', ...admin()])
    const ids = (JSON.parse(json.stdout) as { applications: { id: string }[] }).applications.map((a) => a.id)
    assert.ok(ids.includes(applicationId))
  })

  test('keys create prints a key that the API accepts; the admin key comes from SPANSIFT_ADMIN_KEY', async () => {
    const created = await spansift(['keys', 'create', applicationId, '--api-url', s.apiUrl], {
      SPANSIFT_ADMIN_KEY: ADMIN_KEY,
    })
    assert.equal(created.code, 0, created.stderr)
    const key = created.stdout.trim()
    assert.match(key, /^ssk_/)
    assert.match(created.stderr, /shown once/)
    const datasets = await s.api('GET', '/v1/datasets', key)
    assert.equal(datasets.status, 200)
  })

  test('datasets list and show', async () => {
    const created = await s.api('POST', '/v1/datasets', ADMIN_KEY, {
      name: 'refunds eval',
      application_id: applicationId,
      kind: 'eval',
    })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    datasetId = created.body.id
    const span = recentSpan({
      applicationId,
      traceId: randomHex(16),
      spanId: randomHex(8),
      attributes: { 'gen_ai.prompt': 'Where is my refund?', 'gen_ai.completion': 'On its way' },
    })
    await s.spansift.storage().spans.insert([span])
    const added = await s.api('POST', `/v3/evals/datasets/${datasetId}/items/from-spans`, ADMIN_KEY, {
      application_id: applicationId,
      start_time: new Date(Date.now() - 86_400_000).toISOString(),
      end_time: new Date(Date.now() + 3_600_000).toISOString(),
      spans: [{ trace_id: span.traceId, span_id: span.spanId }],
      mapping: { inputs: { question: 'gen_ai.prompt' }, expected_outputs: { answer: 'gen_ai.completion' } },
    })
    assert.equal(added.status, 200, JSON.stringify(added.body))

    const listed = await spansift(['datasets', 'list', '--application', applicationId, ...admin()])
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, new RegExp(`${datasetId}\\s+eval\\s+1\\s+${applicationId}\\s+refunds eval`))
    const none = await spansift(['datasets', 'list', '--application', randomUuid(), ...admin()])
    assert.equal(none.stdout, 'no datasets\n')

    const shown = await spansift(['datasets', 'show', datasetId, ...admin()])
    assert.equal(shown.code, 0, shown.stderr)
    assert.match(shown.stdout, /^name\s+refunds eval$/m)
    assert.match(shown.stdout, /^rows\s+1$/m)
    assert.match(shown.stdout, /^\s+v1\s+draft\s+1 rows/m)
    const json = await spansift(['datasets', 'show', datasetId, '--json', ...admin()])
    assert.equal((JSON.parse(json.stdout) as { id: string }).id, datasetId)
  })

  test('datasets export writes the JSONL file, and stdout without --output', async () => {
    const file = join(tmp, 'eval.jsonl')
    const exported = await spansift([
      'datasets',
      'export',
      datasetId,
      '--format',
      'jsonl',
      '-o',
      file,
      ...admin(),
    ])
    assert.equal(exported.code, 0, exported.stderr)
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    assert.equal(lines.length, 1)
    const row = JSON.parse(lines[0]!) as { inputs: { question: string } }
    assert.equal(row.inputs.question, 'Where is my refund?')
    assert.match(exported.stderr, /wrote .* to /)

    const toStdout = await spansift([
      'datasets',
      'export',
      datasetId,
      '--format',
      'csv',
      '--version',
      '1',
      ...admin(),
    ])
    assert.equal(toStdout.code, 0, toStdout.stderr)
    assert.match(toStdout.stdout, /Where is my refund\?/)

    const missing = join(tmp, 'missing.jsonl')
    const noVersion = await spansift([
      'datasets',
      'export',
      datasetId,
      '--format',
      'jsonl',
      '--version',
      '9',
      '-o',
      missing,
      ...admin(),
    ])
    assert.equal(noVersion.code, 1)
    assert.match(
      noVersion.stderr,
      /^spansift: the API answered 404 not_found: the dataset has no version 9\n$/,
    )
  })

  test('queue next claims: two scripted reviewers never get the same row; queue release gives it back', async () => {
    const created = await s.api('POST', '/v1/datasets', ADMIN_KEY, {
      name: 'claims eval',
      application_id: applicationId,
      kind: 'eval',
    })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    const claimsId = created.body.id as string
    const spans = ['First question', 'Second question'].map((question) =>
      recentSpan({
        applicationId,
        traceId: randomHex(16),
        spanId: randomHex(8),
        attributes: { 'gen_ai.prompt': question, 'gen_ai.completion': 'An answer' },
      }),
    )
    await s.spansift.storage().spans.insert(spans)
    const added = await s.api('POST', `/v3/evals/datasets/${claimsId}/items/from-spans`, ADMIN_KEY, {
      application_id: applicationId,
      start_time: new Date(Date.now() - 86_400_000).toISOString(),
      end_time: new Date(Date.now() + 3_600_000).toISOString(),
      spans: spans.map((span) => ({ trace_id: span.traceId, span_id: span.spanId })),
      mapping: { inputs: { question: 'gen_ai.prompt' } },
    })
    assert.equal(added.status, 200, JSON.stringify(added.body))

    type Claimed = {
      item: { item_id: string } | null
      claim: { claim_id: string; item_id: string; reviewer: string } | null
      remaining: number
      claimed_by_others: number
    }
    const claim = async (reviewer: string): Promise<Claimed> => {
      const run = await spansift([
        'queue',
        'next',
        'claims eval',
        '--reviewer',
        reviewer,
        '--json',
        ...admin(),
      ])
      assert.equal(run.code, 0, run.stderr)
      return JSON.parse(run.stdout) as Claimed
    }
    // Both reviewers ask at the same time, as two scripts would.
    const [ana, ben] = await Promise.all([claim('ana'), claim('ben')])
    assert.ok(ana.item && ben.item && ana.claim && ben.claim)
    assert.notEqual(ana.item.item_id, ben.item.item_id, 'a row is never handed to two reviewers')
    assert.equal(ana.claim.item_id, ana.item.item_id)
    assert.deepEqual([ana.claim.reviewer, ben.claim.reviewer], ['ana', 'ben'])
    // A third reviewer finds nothing free, and is told who holds the rows.
    const cleo = await spansift(['queue', 'next', claimsId, '--reviewer', 'cleo', ...admin()])
    assert.equal(cleo.stdout, 'no row is free: 2 held by other reviewers\n')
    // Ana asking again gets her own row back, not Ben's.
    assert.equal((await claim('ana')).item?.item_id, ana.item.item_id)

    const released = await spansift(['queue', 'release', 'claims eval', ben.claim.claim_id, ...admin()])
    assert.equal(released.code, 0, released.stderr)
    assert.equal(released.stdout, `released claim ${ben.claim.claim_id}\n`)
    assert.equal((await claim('cleo')).item?.item_id, ben.item.item_id, 'the released row is free again')
    const again = await spansift(['queue', 'release', claimsId, ben.claim.claim_id, ...admin()])
    assert.equal(again.code, 0, 'releasing twice does nothing')
    const notUuid = await spansift(['queue', 'release', claimsId, 'nope', ...admin()])
    assert.equal(notUuid.code, 1)
    assert.match(notUuid.stderr, /claim id must be a UUID/)
    const badLease = await spansift(['queue', 'next', claimsId, '--lease-seconds', 'soon', ...admin()])
    assert.equal(badLease.code, 2)
  })

  test('the review flow: queue next, items annotate and list, publish, create and delete, by name', async () => {
    const next = await spansift(['queue', 'next', 'refunds eval', '--reviewer', 'ana', ...admin()])
    assert.equal(next.code, 0, next.stderr)
    assert.match(next.stdout, /^status\s+empty$/m)
    assert.match(next.stdout, /^ {2}inputs\.question: "Where is my refund\?"$/m)
    assert.match(next.stdout, /^claim\s+[0-9a-f-]{36} by ana until \S+Z$/m)
    assert.match(next.stdout, /^queue\s+1 rows left, 0 held by other reviewers$/m)
    const itemId = /^item\s+([0-9a-f-]{36})$/m.exec(next.stdout)![1]!

    const annotated = await spansift([
      'items',
      'annotate',
      datasetId,
      itemId,
      '--annotation',
      'correct, but terse',
      '--priority',
      'high',
      '--label',
      'refunds',
      ...admin(),
    ])
    assert.equal(annotated.code, 0, annotated.stderr)
    assert.equal(annotated.stdout, `annotated ${itemId}: filled\n`)
    const empty = await spansift(['queue', 'next', datasetId, '--json', ...admin()])
    assert.deepEqual(
      JSON.parse(empty.stdout),
      { item: null, claim: null, remaining: 0, claimed_by_others: 0 },
      'the annotated row left the queue',
    )
    assert.equal(
      (await spansift(['queue', 'next', datasetId, ...admin()])).stdout,
      'the review queue is empty\n',
    )

    const filled = await spansift(['items', 'list', datasetId, '--status', 'filled', '--json', ...admin()])
    const page = JSON.parse(filled.stdout) as {
      items: { item_id: string; priority: string; labels: string[] }[]
    }
    assert.deepEqual(
      page.items.map((i) => [i.item_id, i.priority, i.labels]),
      [[itemId, 'high', ['refunds']]],
    )
    const table = await spansift(['items', 'list', 'refunds eval', '--application', 'cli-bot', ...admin()])
    assert.match(table.stdout, new RegExp(`^${itemId}\\s+filled\\s+high\\s+`, 'm'))
    const noField = await spansift(['items', 'annotate', datasetId, itemId, ...admin()])
    assert.equal(noField.code, 2)

    const published = await spansift(['datasets', 'publish', 'refunds eval', ...admin()])
    assert.equal(published.code, 0, published.stderr)
    assert.equal(published.stdout, 'published refunds eval v1: 1 rows\n')

    const training = await spansift([
      'datasets',
      'create',
      'refunds train',
      '--kind',
      'training',
      '--application',
      'cli-bot',
      '--exclude',
      'refunds eval',
      '--feedback-categories',
      'leak, tone',
      '--json',
      ...admin(),
    ])
    assert.equal(training.code, 0, training.stderr)
    const trainingSet = JSON.parse(training.stdout) as { id: string; exclude_dataset_id: string }
    assert.equal(trainingSet.exclude_dataset_id, datasetId)
    assert.deepEqual((trainingSet as { feedback_categories?: string[] }).feedback_categories, [
      'leak',
      'tone',
    ])
    const recategorized = await spansift([
      'datasets',
      'set-categories',
      'refunds train',
      'tone,,typo ',
      ...admin(),
    ])
    assert.equal(recategorized.code, 0, recategorized.stderr)
    assert.equal(recategorized.stdout, 'refunds train: feedback categories tone, typo\n')
    assert.match(
      (await spansift(['datasets', 'show', trainingSet.id, ...admin()])).stdout,
      /^categories\s+tone, typo$/m,
    )
    const tooLong = await spansift([
      'datasets',
      'set-categories',
      trainingSet.id,
      'x'.repeat(201),
      ...admin(),
    ])
    assert.equal(tooLong.code, 1)
    assert.match(tooLong.stderr, /400 invalid_argument/)
    const duplicate = await spansift([
      'datasets',
      'create',
      'refunds train',
      '--kind',
      'eval',
      '--application',
      'cli-bot',
      ...admin(),
    ])
    assert.equal(duplicate.code, 1)
    assert.match(duplicate.stderr, /409 conflict: .* has a dataset named "refunds train"/)

    const refused = await spansift(['datasets', 'delete', trainingSet.id, ...admin()])
    assert.equal(refused.code, 2, 'deleting needs --yes')
    const deleted = await spansift(['datasets', 'delete', 'refunds train', '--yes', ...admin()])
    assert.equal(deleted.code, 0, deleted.stderr)
    assert.equal(deleted.stdout, `deleted dataset ${trainingSet.id}\n`)
    assert.equal((await s.api('GET', `/v1/datasets/${trainingSet.id}`, ADMIN_KEY)).status, 404)
  })

  test('--help exits 0 on every command; an unknown command or option exits 2', async () => {
    for (const args of [
      ['--help'],
      ['start', '--help'],
      ['migrate', '--help'],
      ['applications', '--help'],
      ['applications', 'list', '--help'],
      ['applications', 'create', '--help'],
      ['applications', 'show', '--help'],
      ['keys', '--help'],
      ['keys', 'create', '-h'],
      ['datasets', '--help'],
      ['datasets', 'list', '--help'],
      ['datasets', 'show', '--help'],
      ['datasets', 'export', '--help'],
      ['datasets', 'create', '--help'],
      ['datasets', 'set-categories', '--help'],
      ['datasets', 'publish', '--help'],
      ['datasets', 'delete', '--help'],
      ['items', '--help'],
      ['items', 'list', '--help'],
      ['items', 'annotate', '--help'],
      ['queue', 'next', '--help'],
      ['queue', 'release', '--help'],
      ['rules', 'plan', '--help'],
      ['rules', 'apply', '--help'],
    ]) {
      const run = await spansift(args)
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`)
      assert.match(run.stdout, /usage: spansift/, args.join(' '))
    }
    const unknown = await spansift(['frobnicate'])
    assert.equal(unknown.code, 2)
    assert.equal(unknown.stderr, 'spansift: unknown command "frobnicate"; run spansift --help\n')
    const badOption = await spansift(['datasets', 'list', '--nope', ...admin()])
    assert.equal(badOption.code, 2)
    assert.equal(badOption.stderr.split('\n').length, 2, badOption.stderr)
    const noFormat = await spansift(['datasets', 'export', datasetId, ...admin()])
    assert.equal(noFormat.code, 2)
    assert.match(noFormat.stderr, /--format is required/)
  })

  test('a wrong key and an unknown dataset: one line naming the API error, exit 1', async () => {
    const wrong = await spansift([
      'applications',
      'list',
      '--api-url',
      s.apiUrl,
      '--key',
      'ssk_not-a-real-key-000000',
    ])
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /^spansift: the API answered 401 .*\(check SPANSIFT_ADMIN_KEY or --key\)\n$/)
    const notFound = await spansift(['datasets', 'show', randomUuid(), ...admin()])
    assert.equal(notFound.code, 1)
    assert.match(notFound.stderr, /^spansift: the API answered 404 not_found: [^\n]+\n$/)
  })

  test('server down: one line saying it cannot be reached, exit 1', async () => {
    const { createServer } = await import('node:net')
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address() as { port: number }
        server.close(() => resolve(address.port))
      })
    })
    const down = await spansift(['applications', 'list'], {
      SPANSIFT_API_PORT: String(port),
      SPANSIFT_ADMIN_KEY: ADMIN_KEY,
    })
    assert.equal(down.code, 1)
    assert.equal(
      down.stderr,
      `spansift: cannot reach spansift at http://127.0.0.1:${port} (ECONNREFUSED); is it running? (set --api-url or SPANSIFT_API_PORT)\n`,
    )
  })
})

function randomUuid(): string {
  return crypto.randomUUID()
}
