import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { closest } from './did-you-mean.ts'
import { formatRuleFileError, formatYamlPath, parseRuleFile } from './rule-file.ts'

const FIXTURES = join(import.meta.dirname, 'fixtures')
const APP = '3c90c3cc-0d44-4b50-8888-8dd25736052a'
const DATASET = '7c1e5f3a-0b9d-4c1e-9a7b-2d4e6f8a0b1c'

describe('invalid fixtures report exactly their expected messages', () => {
  const names = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml'))
  assert.ok(names.length >= 10)
  for (const name of names.sort()) {
    test(name, () => {
      const text = readFileSync(join(FIXTURES, name), 'utf8')
      const expected = readFileSync(join(FIXTURES, name.replace(/\.yaml$/, '.expected.txt')), 'utf8')
      const { rules, errors } = parseRuleFile(name, text)
      assert.ok(errors.length > 0, 'a fixture is invalid')
      assert.equal(errors.map(formatRuleFileError).join('\n') + '\n', expected)
      for (const e of errors) {
        assert.equal(e.file, name)
        assert.ok(e.line >= 1 && e.column >= 1, 'every error has a place')
      }
      // a rule with a problem is never returned
      for (const r of rules) assert.ok(!errors.some((e) => e.line === r.origin.line))
    })
  }
})

const VALID = `# a comment
rules:
  - id: thumbs-down
    description: Answers users rated thumbs-down
    application: ${APP.toUpperCase()}
    dataset: ${DATASET}
    enabled: false
    when:
      all:
        - { field: gen_ai.request.model, equals: gpt-4o }
        - not: { field: user.id, exists: true }
    sample: 0.25
    include_errors: true
    mapping:
      inputs: { question: gen_ai.prompt.0.content }
      expected_outputs: { answer: gen_ai.completion.0.content }
      metadata: { model: gen_ai.request.model }
      extras: {}
    defaults: { priority: high, feedback_category: negative_feedback, labels: [thumbs-down] }
    redact:
      detectors: [email, phone, email]
      patterns: [{ name: order-id, regex: 'ORD-[0-9]{6}' }]

  - id: minimal.rule_2
    application: ${APP}
    dataset: ${DATASET}
    mapping:
      inputs: { q: input }
`

test('a valid file becomes rules: snake_case to the domain, defaults filled, origin recorded', () => {
  const { rules, errors } = parseRuleFile('rules/a.yaml', VALID)
  assert.deepEqual(errors, [])
  assert.deepEqual(rules[0], {
    id: 'thumbs-down',
    description: 'Answers users rated thumbs-down',
    target: { application: APP.toUpperCase(), dataset: DATASET },
    applicationId: APP,
    datasetId: DATASET,
    enabled: false,
    when: {
      all: [{ field: 'gen_ai.request.model', equals: 'gpt-4o' }, { not: { field: 'user.id', exists: true } }],
    },
    sample: 0.25,
    includeErrors: true,
    mapping: {
      inputs: { question: 'gen_ai.prompt.0.content' },
      expected_outputs: { answer: 'gen_ai.completion.0.content' },
      metadata: { model: 'gen_ai.request.model' },
    },
    defaults: { priority: 'high', feedbackCategory: 'negative_feedback', labels: ['thumbs-down'] },
    redaction: { detectors: ['email', 'phone'], patterns: [{ name: 'order-id', regex: 'ORD-[0-9]{6}' }] },
    origin: {
      file: 'rules/a.yaml',
      line: 3,
      yamlPath: 'rules[0]',
      application: { line: 5, column: 18 },
      dataset: { line: 6, column: 14 },
    },
  })
  assert.deepEqual(rules[1], {
    id: 'minimal.rule_2',
    description: '',
    target: { application: APP, dataset: DATASET },
    applicationId: APP,
    datasetId: DATASET,
    enabled: true,
    when: null,
    sample: 1,
    includeErrors: false,
    mapping: { inputs: { q: 'input' } },
    defaults: { priority: null, feedbackCategory: null, labels: [] },
    redaction: { detectors: [], patterns: [] },
    origin: {
      file: 'rules/a.yaml',
      line: 24,
      yamlPath: 'rules[1]',
      application: { line: 25, column: 18 },
      dataset: { line: 26, column: 14 },
    },
  })
})

test('detectors: [all] turns on every detector', () => {
  const text = `rules:
  - id: r
    application: ${APP}
    dataset: ${DATASET}
    mapping: { inputs: { q: input } }
    redact: { detectors: [all, email] }
`
  const { rules } = parseRuleFile('a.yaml', text)
  assert.deepEqual(rules[0]!.redaction.detectors, [
    'email',
    'phone',
    'credit_card',
    'api_key',
    'jwt',
    'ip_address',
  ])
})

/** The formatted errors of a text. */
function errorsOf(text: string): string[] {
  return parseRuleFile('f.yaml', text).errors.map(formatRuleFileError)
}

const rule = (body: string) => `rules:
  - id: r
    application: ${APP}
    dataset: ${DATASET}
    mapping: { inputs: { q: input } }
${body}`

describe('messages', () => {
  test('every problem of a file is reported, in line order, and the good rules are still returned', () => {
    const text = `rules:
  - id: good
    application: ${APP}
    dataset: ${DATASET}
    mapping: { inputs: { q: input } }
  - id: Bad Id
    application: ${APP}
    dataset: ${DATASET}
    enabled: yes
    mapping: { inputs: { q: input } }
`
    const { rules, errors } = parseRuleFile('f.yaml', text)
    assert.deepEqual(errors.map(formatRuleFileError), [
      'f.yaml:6:9: rules[1].id: must be 1–64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit, got "Bad Id"',
      'f.yaml:9:14: rules[1].enabled: expected true or false, got the string "yes"',
    ])
    assert.deepEqual(
      rules.map((r) => r.id),
      ['good'],
    )
  })

  test('unknown keys get a suggestion when one is close, else the list of known keys', () => {
    assert.deepEqual(errorsOf(rule('    incude_errors: true\n')), [
      'f.yaml:6:5: rules[0].incude_errors: unknown key "incude_errors" (did you mean "include_errors"?)',
    ])
    assert.deepEqual(errorsOf(rule('    defaults: { colour: red }\n')), [
      'f.yaml:6:17: rules[0].defaults.colour: unknown key "colour"; expected one of: priority, feedback_category, labels',
    ])
    assert.deepEqual(errorsOf(rule('    redact: { detectors: [emial] }\n')), [
      'f.yaml:6:27: rules[0].redact.detectors[0]: unknown value "emial" (did you mean "email"?); expected one of: email, phone, credit_card, api_key, jwt, ip_address, all',
    ])
  })

  test('wrong types are named in YAML terms', () => {
    assert.deepEqual(errorsOf(rule('    sample: "25%"\n    defaults: { labels: x }\n')), [
      'f.yaml:6:13: rules[0].sample: expected a number, got the string "25%"',
      'f.yaml:7:25: rules[0].defaults.labels: expected a list, got the string "x"',
    ])
    assert.match(
      errorsOf(rule('    when:\n'))[0]!,
      /^f\.yaml:6:10: rules\[0\]\.when: a predicate is a mapping/,
    )
  })

  test('predicate problems are placed inside the predicate; a typo is reported once', () => {
    assert.deepEqual(errorsOf(rule('    when: { fieldd: model, equals: x, colour: red }\n')), [
      'f.yaml:6:13: rules[0].when.fieldd: unknown key "fieldd" (did you mean "field"?)',
      'f.yaml:6:39: rules[0].when.colour: unknown key "colour"',
    ])
    assert.match(
      errorsOf(rule('    when: { all: [{}] }\n'))[0]!,
      /^f\.yaml:6:19: rules\[0\]\.when\.all\[0\]: /,
    )
    assert.deepEqual(
      errorsOf(rule('    when: { any: [{ feld: model, equals: x }, { field: model, equal: x }] }\n')),
      [
        'f.yaml:6:21: rules[0].when.any[0].feld: unknown key "feld" (did you mean "field"?)',
        'f.yaml:6:63: rules[0].when.any[1].equal: unknown key "equal" (did you mean "equals"?)',
      ],
    )
  })

  test('the file must be a mapping with a non-empty rules list and nothing else', () => {
    assert.deepEqual(errorsOf(''), [
      'f.yaml:1:1: the file is empty; a rule file is a mapping with a "rules:" list',
    ])
    assert.deepEqual(errorsOf('- id: x\n'), [
      'f.yaml:1:1: a rule file is a mapping with a "rules:" list, got a list',
    ])
    assert.deepEqual(errorsOf('rules: []\n'), ['f.yaml:1:8: rules: must list at least one rule'])
    assert.deepEqual(errorsOf('rule: []\n'), ['f.yaml:1:1: rule: unknown key "rule" (did you mean "rules"?)'])
    assert.deepEqual(errorsOf(`${rule('')}version: 2\n`), [
      'f.yaml:6:1: version: unknown key "version"; expected one of: datasets, rules',
    ])
  })

  test('YAML problems: duplicate keys, tabs, several documents', () => {
    assert.deepEqual(errorsOf(rule('    sample: 0.5\n    sample: 0.2\n')), [
      'f.yaml:7:5: rules[0].sample: YAML syntax: Map keys must be unique',
    ])
    assert.match(
      errorsOf('rules:\n\t- id: x\n')[0]!,
      /^f\.yaml:2:1: .*YAML syntax: Tabs are not allowed as indentation/,
    )
    assert.match(
      errorsOf(`${rule('')}---\n${rule('')}`)[0]!,
      /YAML syntax: Source contains multiple documents/,
    )
  })

  test("a rule's schema problems and its predicate's type problems are reported together", () => {
    const text = `rules:
  - id: r
    application: ${APP}
    dataset: ''
    when: { field: gen_ai.request.model, gt: 4 }
    mapping: { inputs: { q: input } }
`
    assert.deepEqual(
      errorsOf(text).map((e) => e.split(': ').slice(0, 2).join(': ')),
      ['f.yaml:4:14: rules[0].dataset', 'f.yaml:5:46: rules[0].when.gt'],
    )
  })

  test('a predicate nested too deep is an error, not a crash', () => {
    const depth = 5000
    const when = `${'{ not: '.repeat(depth)}{ field: span.name, equals: x }${' }'.repeat(depth)}`
    const errors = parseRuleFile('f.yaml', rule(`    when: ${when}\n`)).errors
    assert.ok(errors.length > 0)
    assert.match(errors[0]!.yamlPath, /^rules\[0\]/)
  })

  test('a custom pattern that matches the empty string is refused', () => {
    assert.deepEqual(errorsOf(rule("    redact: { patterns: [{ name: x, regex: 'a*' }] }\n")), [
      'f.yaml:6:44: rules[0].redact.patterns[0].regex: matches the empty string; a pattern must match at least one character',
    ])
  })
})

test('application and dataset may be names: the ids stay empty until resolved', () => {
  const { rules, datasets, errors } = parseRuleFile(
    'rules/n.yaml',
    `datasets:
  - { name: support-eval, application: support-bot, kind: eval }
  - name: support-train
    application: support-bot
    kind: training
    exclude: support-eval
rules:
  - id: named
    application: support-bot
    dataset: support-eval
    mapping: { inputs: { q: input } }
`,
  )
  assert.deepEqual(errors, [])
  assert.deepEqual(
    [rules[0]!.target, rules[0]!.applicationId, rules[0]!.datasetId],
    [{ application: 'support-bot', dataset: 'support-eval' }, '', ''],
  )
  assert.deepEqual(datasets, [
    {
      name: 'support-eval',
      application: 'support-bot',
      kind: 'eval',
      exclude: null,
      origin: { file: 'rules/n.yaml', line: 2, column: 5, yamlPath: 'datasets[0]' },
    },
    {
      name: 'support-train',
      application: 'support-bot',
      kind: 'training',
      exclude: 'support-eval',
      origin: { file: 'rules/n.yaml', line: 3, column: 5, yamlPath: 'datasets[1]' },
    },
  ])
})

test('formatYamlPath and formatRuleFileError', () => {
  assert.equal(formatYamlPath(['rules', 0, 'when', 'all', 1, 'gt']), 'rules[0].when.all[1].gt')
  assert.equal(
    formatYamlPath(['rules', 0, 'mapping', 'inputs', 'my field']),
    'rules[0].mapping.inputs["my field"]',
  )
  assert.equal(formatYamlPath([]), '')
  assert.equal(
    formatRuleFileError({
      file: 'rules/a.yaml',
      line: 12,
      column: 7,
      yamlPath: 'rules[0].id',
      message: 'bad',
    }),
    'rules/a.yaml:12:7: rules[0].id: bad',
  )
  assert.equal(
    formatRuleFileError({ file: 'rules', line: 0, column: 0, yamlPath: '', message: 'cannot read' }),
    'rules: cannot read',
  )
})

test('closest suggests typos only', () => {
  assert.equal(closest('emial', ['email', 'phone']), 'email')
  assert.equal(closest('datset', ['dataset', 'description']), 'dataset')
  assert.equal(closest('zzz', ['dataset', 'description']), undefined)
  assert.equal(closest('a', ['b']), 'b')
})
