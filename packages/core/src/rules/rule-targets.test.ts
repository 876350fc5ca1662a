import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { formatRuleFileError, parseRuleFile } from './rule-file.ts'
import {
  cachedLookup,
  planDeclaredDatasets,
  type RuleTargetLookup,
  resolveRuleTarget,
  type TargetApplication,
  type TargetDataset,
} from './rule-targets.ts'

const APP = '3c90c3cc-0d44-4b50-8888-8dd25736052a'
const OTHER_APP = '11111111-2222-4333-8444-555555555555'
const EVAL = '7c1e5f3a-0b9d-4c1e-9a7b-2d4e6f8a0b1c'
const FOREIGN = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a'

/** An in-memory lookup over a few applications and datasets, counting its calls. */
function memoryLookup(applications: TargetApplication[], datasets: TargetDataset[]) {
  const calls = { application: 0, dataset: 0 }
  const isId = (ref: string) => /^[0-9a-f-]{36}$/i.test(ref)
  const lookup: RuleTargetLookup = {
    async application(ref) {
      calls.application++
      return applications.find((a) => (isId(ref) ? a.id === ref.toLowerCase() : a.name === ref))
    },
    async dataset(applicationId, ref) {
      calls.dataset++
      return isId(ref)
        ? datasets.find((d) => d.id === ref.toLowerCase())
        : datasets.find((d) => d.applicationId === applicationId && d.name === ref)
    },
  }
  return { lookup, calls }
}

const stored = () =>
  memoryLookup(
    [
      { id: APP, name: 'support-bot' },
      { id: OTHER_APP, name: 'billing' },
    ],
    [
      { id: EVAL, name: 'support-eval', applicationId: APP, kind: 'eval', excludeDatasetId: null },
      { id: FOREIGN, name: 'invoices', applicationId: OTHER_APP, kind: 'eval', excludeDatasetId: null },
    ],
  )

const file = (text: string) => {
  const parsed = parseRuleFile('rules/support.yaml', text)
  assert.deepEqual(parsed.errors.map(formatRuleFileError), [])
  return parsed
}

const RULE = (application: string, dataset: string) => `rules:
  - id: r
    application: ${application}
    dataset: ${dataset}
    mapping: { inputs: { q: input } }
`

describe('resolveRuleTarget', () => {
  test('names and ids resolve to the same ids', async () => {
    const { lookup } = stored()
    for (const [app, ds] of [
      ['support-bot', 'support-eval'],
      [APP, EVAL],
      [APP.toUpperCase(), 'support-eval'],
      ['support-bot', EVAL],
    ] as const) {
      const { rules } = file(RULE(app, ds))
      assert.deepEqual(await resolveRuleTarget(rules[0]!, lookup), {
        status: 'resolved',
        applicationId: APP,
        datasetId: EVAL,
      })
    }
  })

  test("a default feedback category outside the dataset's categories keeps the rule unresolved, naming them", async () => {
    const { lookup } = memoryLookup(
      [{ id: APP, name: 'support-bot' }],
      [
        {
          id: EVAL,
          name: 'support-eval',
          applicationId: APP,
          kind: 'eval',
          excludeDatasetId: null,
          feedbackCategories: ['resolved', 'wrong date'],
        },
      ],
    )
    const withDefault = (category: string) =>
      file(`rules:
  - id: r
    application: support-bot
    dataset: support-eval
    mapping: { inputs: { q: input } }
    defaults: { feedback_category: ${category} }
`).rules[0]!
    assert.deepEqual(await resolveRuleTarget(withDefault('off-topic'), lookup), {
      status: 'unresolved',
      key: 'dataset',
      problem:
        'defaults: feedback_category "off-topic" is not one of dataset "support-eval"\'s categories: resolved, wrong date',
    })
    assert.equal((await resolveRuleTarget(withDefault('resolved'), lookup)).status, 'resolved')
  })

  test('an unknown name, and a dataset of another application, are problems naming them', async () => {
    const { lookup } = stored()
    const resolve = async (app: string, ds: string) =>
      resolveRuleTarget(file(RULE(app, ds)).rules[0]!, lookup)
    assert.deepEqual(await resolve('support-bott', 'support-eval'), {
      status: 'unresolved',
      key: 'application',
      problem: 'no application "support-bott"',
    })
    assert.deepEqual(await resolve('support-bot', 'nope'), {
      status: 'unresolved',
      key: 'dataset',
      problem: 'no dataset "nope" in application "support-bot"',
    })
    // a name is looked up in the rule's application only: billing's dataset is not found
    assert.equal((await resolve('support-bot', 'invoices')).status, 'unresolved')
    assert.deepEqual(await resolve('support-bot', FOREIGN), {
      status: 'unresolved',
      key: 'dataset',
      problem: `dataset ${FOREIGN} belongs to another application than "support-bot"`,
    })
  })

  test('a missing dataset the files declare is "declared", pointing at rules apply', async () => {
    const { lookup } = stored()
    const parsed = file(`datasets:
  - { name: support-train, application: support-bot, kind: training }
${RULE('support-bot', 'support-train')}`)
    const resolution = await resolveRuleTarget(parsed.rules[0]!, lookup, parsed.datasets)
    assert.equal(resolution.status, 'declared')
    assert.match(
      (resolution as { problem: string }).problem,
      /declared at rules\/support\.yaml:2: run spansift rules apply to create it$/,
    )
  })
})

describe('planDeclaredDatasets', () => {
  test('creates what is missing (eval first), leaves what matches alone', async () => {
    const { lookup } = stored()
    const parsed = file(`datasets:
  - { name: train, application: support-bot, kind: training, exclude: golden }
  - { name: golden, application: support-bot, kind: eval }
  - { name: support-eval, application: ${APP}, kind: eval }
  - { name: train-2, application: support-bot, kind: training, exclude: support-eval }
${RULE('support-bot', 'train')}`)
    const { steps, errors } = await planDeclaredDatasets(parsed.datasets, lookup)
    assert.deepEqual(errors, [])
    assert.deepEqual(
      steps.map((s) => [s.action, s.declaration.name]),
      [
        ['unchanged', 'support-eval'],
        ['create', 'golden'],
        ['create', 'train'],
        ['create', 'train-2'],
      ],
    )
    const train = steps.find((s) => s.declaration.name === 'train')!
    assert.equal(train.action === 'create' && train.exclude && 'declared' in train.exclude, true)
    const train2 = steps.find((s) => s.declaration.name === 'train-2')!
    assert.deepEqual(train2.action === 'create' && train2.exclude, { id: EVAL })
  })

  test('a stored dataset of another kind or exclusion is an error on its declaration, never a change', async () => {
    const { lookup } = stored()
    const parsed = file(`datasets:
  - { name: support-eval, application: support-bot, kind: training }
  - { name: invoices, application: billing, kind: training, exclude: support-eval }
  - { name: x, application: nobody, kind: eval }
${RULE('support-bot', 'support-eval')}`)
    const { steps, errors } = await planDeclaredDatasets(parsed.datasets, lookup)
    assert.deepEqual(steps, [])
    assert.deepEqual(errors.map(formatRuleFileError), [
      `rules/support.yaml:2:5: datasets[0].kind: dataset "support-eval" (${EVAL}) is stored as eval, declared training; spansift never changes a dataset's kind: fix the file, or declare a new name`,
      'rules/support.yaml:3:5: datasets[1].exclude: no eval dataset "support-eval" in application "billing"',
      'rules/support.yaml:4:5: datasets[2].application: no application "nobody"',
    ])
  })

  test('an exclusion differing from the stored one is an error', async () => {
    const { lookup } = memoryLookup(
      [{ id: APP, name: 'support-bot' }],
      [
        { id: EVAL, name: 'support-eval', applicationId: APP, kind: 'eval', excludeDatasetId: null },
        { id: FOREIGN, name: 'train', applicationId: APP, kind: 'training', excludeDatasetId: null },
      ],
    )
    const parsed = file(`datasets:
  - { name: train, application: support-bot, kind: training, exclude: support-eval }
${RULE('support-bot', 'train')}`)
    const { errors } = await planDeclaredDatasets(parsed.datasets, lookup)
    assert.deepEqual(errors.map(formatRuleFileError), [
      `rules/support.yaml:2:5: datasets[0].exclude: dataset "train" (${FOREIGN}) is stored excluding nothing, declared excluding ${EVAL}; spansift never changes an exclusion`,
    ])
  })
})

test('cachedLookup asks its source once per reference', async () => {
  const { lookup, calls } = stored()
  const cached = cachedLookup(lookup)
  for (let i = 0; i < 3; i++) {
    await cached.application('support-bot')
    await cached.dataset(APP, 'support-eval')
  }
  assert.deepEqual(calls, { application: 1, dataset: 1 })
})
