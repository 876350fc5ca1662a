import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'
import { testSpan } from '@spansift/core/datasets/test-span'
import { silentLogger } from '@spansift/core/logger'
import { createRuleRegistry, type RuleRegistry } from './rule-registry.ts'

const APP = '3c90c3cc-0d44-4b50-8888-8dd25736052a'
const DATASET = '7c1e5f3a-0b9d-4c1e-9a7b-2d4e6f8a0b1c'
let dir: string
let registry: RuleRegistry | undefined

const ruleFile = (id: string, when = '{ field: model, equals: gpt-4o }') => `rules:
  - id: ${id}
    application: ${APP}
    dataset: ${DATASET}
    when: ${when}
    mapping: { inputs: { question: input } }
`

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spansift-registry-'))
})
afterEach(async () => {
  await registry?.shutdown()
  registry = undefined
  rmSync(dir, { recursive: true, force: true })
})

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!check()) {
    if (Date.now() > deadline) assert.fail(what)
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('loads the directory, indexes active rules by application, and reloads on change', async () => {
  writeFileSync(join(dir, 'a.yaml'), ruleFile('first'))
  registry = createRuleRegistry({ dir, pollIntervalMs: 20, logger: silentLogger })
  await registry.start()
  assert.deepEqual(
    registry.forApplication(APP).map((c) => c.rule.id),
    ['first'],
  )
  assert.equal(registry.forApplication('another-app').length, 0)
  assert.ok(registry.forApplication(APP)[0]!.evaluate(testSpan()))
  const row = { inputs: { q: 'x' }, expected_outputs: {}, metadata: {}, extras: {} }
  registry.recordMatched('first', [row, row, row])

  writeFileSync(join(dir, 'b.yaml'), ruleFile('second'))
  await eventually(() => registry!.all().length === 2, 'the new file is picked up')
  const status = registry.status()
  assert.equal(status.reload.ok, true)
  const first = status.rules.find((r) => r.rule.id === 'first')!
  assert.equal(first.matched, 3, 'counters survive a reload')
  assert.deepEqual([...first.resolvedFields], ['inputs.q'])
})

test('an invalid edit keeps the last good set and reports file, line and path', async () => {
  writeFileSync(join(dir, 'a.yaml'), ruleFile('first'))
  registry = createRuleRegistry({ dir, pollIntervalMs: 20, logger: silentLogger })
  await registry.start()
  writeFileSync(join(dir, 'a.yaml'), ruleFile('first', '{ field: model, gt: 5 }'))
  await eventually(() => registry!.status().reload.ok === false, 'the bad edit is seen')
  const { rules, reload } = registry.status()
  assert.match(reload.errors[0]!, /a\.yaml:5:\d+: rules\[0\]\.when\.gt: .*string/)
  assert.deepEqual(
    rules.map((r) => [r.rule.id, r.state]),
    [['first', 'active']],
  )
  assert.equal(registry.forApplication(APP).length, 1, 'the last good rule still runs')
})

test('a rule whose dataset cannot take it is loaded in state error and does not run', async () => {
  writeFileSync(join(dir, 'a.yaml'), ruleFile('orphan'))
  registry = createRuleRegistry({
    dir,
    pollIntervalMs: 0,
    logger: silentLogger,
    lookup: {
      application: async (ref) => ({ id: ref, name: 'support-bot' }),
      dataset: async () => undefined,
    },
  })
  await registry.start()
  const [status] = registry.status().rules
  assert.equal(status!.state, 'error')
  assert.equal(status!.error, `no dataset ${DATASET} in application ${APP}`)
  assert.equal(registry.forApplication(APP).length, 0)
})

test('markFailed stops a running rule until the next reload', async () => {
  writeFileSync(join(dir, 'a.yaml'), ruleFile('first'))
  registry = createRuleRegistry({ dir, pollIntervalMs: 0, logger: silentLogger })
  await registry.start()
  registry.markFailed('first', 'the dataset was deleted')
  assert.equal(registry.forApplication(APP).length, 0)
  assert.equal(registry.status().rules[0]!.error, 'the dataset was deleted')
  assert.equal(await registry.reload(), true)
  assert.equal(registry.forApplication(APP).length, 1)
})

test('a missing directory is a failed load that names it, not a crash', async () => {
  registry = createRuleRegistry({ dir: join(dir, 'nope'), pollIntervalMs: 0, logger: silentLogger })
  await registry.start()
  const { reload, rules } = registry.status()
  assert.equal(reload.ok, false)
  assert.match(reload.errors[0]!, /nope/)
  assert.equal(rules.length, 0)
})

test('a missing directory is reported once, not on every poll, and loads when it appears', async () => {
  const missing = join(dir, 'later')
  const errors: string[] = []
  const logger = { ...silentLogger, error: (message: string) => errors.push(message), child: () => logger }
  registry = createRuleRegistry({ dir: missing, pollIntervalMs: 10, logger })
  await registry.start()
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(errors.length, 1)
  mkdirSync(missing)
  writeFileSync(join(missing, 'a.yaml'), ruleFile('first'))
  await eventually(() => registry!.status().reload.ok, 'the directory loads once it exists')
  assert.equal(registry.forApplication(APP).length, 1)
})

test('names are resolved through the lookup on every load; the index uses the resolved ids', async () => {
  const datasets = new Map<string, string>()
  writeFileSync(
    join(dir, 'a.yaml'),
    `rules:
  - id: named
    application: support-bot
    dataset: support-eval
    mapping: { inputs: { question: input } }
`,
  )
  registry = createRuleRegistry({
    dir,
    pollIntervalMs: 0,
    logger: silentLogger,
    lookup: {
      application: async (ref) => (ref === 'support-bot' ? { id: APP, name: ref } : undefined),
      dataset: async (applicationId, ref) => {
        const id = datasets.get(ref)
        return id
          ? { id, name: ref, applicationId, kind: 'eval' as const, excludeDatasetId: null }
          : undefined
      },
    },
  })
  await registry.start()
  assert.deepEqual(
    registry.status().rules.map((r) => [r.state, r.error]),
    [['error', 'no dataset "support-eval" in application "support-bot"']],
  )
  assert.equal(registry.forApplication(APP).length, 0)

  datasets.set('support-eval', DATASET)
  assert.equal(await registry.reload(), true)
  const [compiled] = registry.forApplication(APP)
  assert.deepEqual(
    [compiled?.rule.applicationId, compiled?.rule.datasetId, compiled?.rule.target],
    [APP, DATASET, { application: 'support-bot', dataset: 'support-eval' }],
  )
  assert.ok(compiled!.evaluate(testSpan({ applicationId: APP })))
})

test('without a lookup, a rule written with names is in error; one written with ids runs', async () => {
  writeFileSync(
    join(dir, 'a.yaml'),
    `${ruleFile('by-id')}  - id: by-name
    application: support-bot
    dataset: support-eval
    mapping: { inputs: { question: input } }
`,
  )
  registry = createRuleRegistry({ dir, pollIntervalMs: 0, logger: silentLogger })
  await registry.start()
  assert.deepEqual(
    registry.status().rules.map((r) => [r.rule.id, r.state]),
    [
      ['by-id', 'active'],
      ['by-name', 'error'],
    ],
  )
})

test('a rule waiting for its dataset becomes active once it exists, and stops once it is deleted, without a file change', async () => {
  writeFileSync(join(dir, 'a.yaml'), ruleFile('first') + ruleFile('second').replace('rules:\n', ''))
  const datasets = new Set<string>()
  let datasetLookups = 0
  let storageDown = false
  registry = createRuleRegistry({
    dir,
    pollIntervalMs: 0,
    targetCheckIntervalMs: 20,
    logger: silentLogger,
    lookup: {
      application: async (ref) => (ref === APP ? { id: APP, name: 'support-bot' } : undefined),
      dataset: async (applicationId, ref) => {
        datasetLookups++
        if (storageDown) throw new Error('ECONNREFUSED')
        return datasets.has(ref)
          ? { id: ref, name: 'support-eval', applicationId, kind: 'eval' as const, excludeDatasetId: null }
          : undefined
      },
    },
  })
  await registry.start()
  const states = () => registry!.status().rules.map((r) => r.state)
  assert.deepEqual(states(), ['error', 'error'])
  datasets.add(DATASET)
  await eventually(() => registry!.forApplication(APP).length === 2, 'the rules become active')
  assert.deepEqual(states(), ['active', 'active'])
  assert.equal(registry.status().rules[0]!.error, null)
  assert.ok(registry.forApplication(APP)[0]!.evaluate(testSpan({ applicationId: APP })))
  // Storage unreachable: running rules keep running.
  storageDown = true
  const before = datasetLookups
  await eventually(() => datasetLookups >= before + 5, 'rounds while storage is down')
  assert.deepEqual(states(), ['active', 'active'])
  storageDown = false
  datasets.delete(DATASET)
  await eventually(() => registry!.forApplication(APP).length === 0, 'the rules stop')
  assert.deepEqual(states(), ['error', 'error'])
  assert.match(registry.status().rules[0]!.error ?? '', /dataset/)
})
