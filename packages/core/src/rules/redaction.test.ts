import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { MappedRow } from '../datasets/dataset-model.ts'
import {
  createRedactor,
  isIpv6,
  luhnValid,
  REDACTION_DETECTORS,
  type RedactionConfig,
  type RedactionDetector,
  redactRow,
} from './redaction.ts'

const row = (inputs: MappedRow['inputs'], rest: Partial<MappedRow> = {}): MappedRow => ({
  inputs,
  expected_outputs: {},
  metadata: {},
  extras: {},
  ...rest,
})

/** The text after redaction with one detector. */
function redact(detector: RedactionDetector, text: string): string {
  const out = redactRow(row({ text }), { detectors: [detector], patterns: [] })
  return out.row.inputs.text as string
}

interface DetectorCase {
  detector: RedactionDetector
  /** [text, what it becomes] */
  positives: Array<[string, string]>
  /** texts left as they are */
  negatives: string[]
}

const CASES: DetectorCase[] = [
  {
    detector: 'email',
    positives: [
      ['write to ada@example.com today', 'write to [REDACTED:email] today'],
      ['john.doe+tag@mail.co.uk.', '[REDACTED:email].'],
      ['<x_y-z%1@sub.domain-name.io>', '<[REDACTED:email]>'],
      ['a@b.cd, c@d.ef', '[REDACTED:email], [REDACTED:email]'],
    ],
    negatives: ['no at sign here', 'user@localhost', '@handle on social', 'a@b.c', 'foo@@bar.com'],
  },
  {
    detector: 'phone',
    positives: [
      ['call +1 (555) 123-4567 now', 'call [REDACTED:phone] now'],
      ['+44 20 7946 0958', '[REDACTED:phone]'],
      ['+33 1 23 45 67 89', '[REDACTED:phone]'],
      ['tel:+15551234567', 'tel:[REDACTED:phone]'],
      ['(555) 123-4567', '[REDACTED:phone]'],
      ['555-123-4567', '[REDACTED:phone]'],
      ['555.123.4567', '[REDACTED:phone]'],
    ],
    negatives: [
      '2024-06-15',
      '10:30:45',
      'v1.2.3',
      '1700000000',
      'order 12345678',
      '555-1234',
      '123-45-6789',
      '555-123.4567',
      'ISBN 978-3-16-148410-0',
      '+1 5',
      '$1,234.56',
    ],
  },
  {
    detector: 'credit_card',
    positives: [
      ['card 4111 1111 1111 1111 exp 12/27', 'card [REDACTED:credit_card] exp 12/27'],
      ['4111111111111111', '[REDACTED:credit_card]'],
      ['5555-5555-5555-4444', '[REDACTED:credit_card]'],
      ['amex 3782 822463 10005', 'amex [REDACTED:credit_card]'],
      ['378282246310005', '[REDACTED:credit_card]'],
      ['6011111111111117.', '[REDACTED:credit_card].'],
    ],
    negatives: [
      '4111111111111112', // fails Luhn
      '4111 1111 1111 1112',
      '1234567812345670', // passes Luhn, but no card starts with 1
      '41111111111111111111111', // too long
      '4111 1111', // too short
      'id-4111111111111111', // part of an id
    ],
  },
  {
    detector: 'api_key',
    positives: [
      ['key sk-abcdefghij0123456789ABCDEFGHIJ', 'key [REDACTED:api_key]'],
      ['sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34', '[REDACTED:api_key]'],
      ['sk-ant-api03-Ab12Cd34Ef56Gh78Ij90Kl12Mn34-xyz', '[REDACTED:api_key]'],
      ['AKIAIOSFODNN7EXAMPLE', '[REDACTED:api_key]'],
      ['ghp_1234567890abcdefghijABCDEFGHIJ123456', '[REDACTED:api_key]'],
      ['github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', '[REDACTED:api_key]'],
      ['AIzaSyA1234567890abcdefghijklmnopqrstuv', '[REDACTED:api_key]'],
      ['xoxb-1234567890-abcdefghij', '[REDACTED:api_key]'],
      ['sk_live_4eC39HqLyjWDarjtT1zdp7dc', '[REDACTED:api_key]'],
      ['Authorization: Bearer abc123def456ghi789jkl', 'Authorization: Bearer [REDACTED:api_key]'],
    ],
    negatives: [
      'sk-learn-is-a-python-library', // no digit: a word, not a token
      'risk-0123456789012345678901',
      'AKIA1234', // too short
      'ghp_short1',
      'Bearer of bad news',
      'bearer tokens are described in RFC 6750',
      'pk_live_4eC39HqLyjWDarjtT1zdp7dc', // publishable, not secret
    ],
  },
  {
    detector: 'jwt',
    positives: [
      [
        'token eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end',
        'token [REDACTED:jwt] end',
      ],
      ['eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.', '[REDACTED:jwt]'],
    ],
    negatives: ['eyJhbGciOiJIUzI1NiJ9', 'eyJ.eyJ.x', 'heyJude.eyJabcdef.xyz'],
  },
  {
    detector: 'ip_address',
    positives: [
      ['from 192.168.1.10 at', 'from [REDACTED:ip_address] at'],
      ['10.0.0.1:8080', '[REDACTED:ip_address]:8080'],
      ['8.8.8.8.', '[REDACTED:ip_address].'],
      ['fe80::1ff:fe23:4567:890a', '[REDACTED:ip_address]'],
      ['[2001:db8:85a3:0:0:8a2e:370:7334]:443', '[[REDACTED:ip_address]]:443'],
      ['::ffff:192.0.2.1', '[REDACTED:ip_address]'],
      ['loopback ::1 only', 'loopback [REDACTED:ip_address] only'],
    ],
    negatives: [
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '192.168.01.1',
      'version 2.10.300.4000',
      '12:30:45',
      '00:1A:2B:3C:4D:5E',
      'std::vector',
      'a::b::c',
      'ratio 1:2',
    ],
  },
]

describe('built-in detectors', () => {
  for (const c of CASES) {
    describe(c.detector, () => {
      for (const [text, expected] of c.positives) {
        test(`redacts ${JSON.stringify(text)}`, () => assert.equal(redact(c.detector, text), expected))
      }
      for (const text of c.negatives) {
        test(`leaves ${JSON.stringify(text)}`, () => assert.equal(redact(c.detector, text), text))
      }
    })
  }
})

test('a detector not configured does not run', () => {
  const text = 'ada@example.com 192.168.1.1'
  assert.equal(redact('phone', text), text)
})

test('custom patterns are named in the label and run before the detectors', () => {
  const config: RedactionConfig = {
    detectors: ['phone'],
    patterns: [
      { name: 'order-id', regex: 'ORD-[0-9]{6}' },
      { name: 'ticket', regex: '(?i:tkt)#\\d+' },
    ],
  }
  const out = redactRow(row({ q: 'ORD-123456 and ORD-12, TKT#42 tkt#7, call 555-123-4567' }), config)
  assert.equal(
    out.row.inputs.q,
    '[REDACTED:order-id] and ORD-12, [REDACTED:ticket] [REDACTED:ticket], call [REDACTED:phone]',
  )
})

test('a custom pattern that can match nothing does not insert labels between characters', () => {
  const out = redactRow(row({ q: 'bbb a' }), { detectors: [], patterns: [{ name: 'a', regex: 'a*' }] })
  assert.equal(out.row.inputs.q, 'bbb [REDACTED:a]')
})

test('redactedFields names each changed field by bucket; untouched values and types stay', () => {
  const input = row(
    { question: 'mail me at ada@example.com', clean: 'nothing here', count: 42, flag: true },
    {
      expected_outputs: { answer: 'call +1 555 123 4567' },
      metadata: { ip: '10.1.2.3' },
      extras: { note: 'fine' },
    },
  )
  const out = redactRow(input, { detectors: [...REDACTION_DETECTORS], patterns: [] })
  assert.deepEqual(out.redactedFields, ['inputs.question', 'expected_outputs.answer', 'metadata.ip'])
  assert.deepEqual(out.row, {
    inputs: { question: 'mail me at [REDACTED:email]', clean: 'nothing here', count: 42, flag: true },
    expected_outputs: { answer: 'call [REDACTED:phone]' },
    metadata: { ip: '[REDACTED:ip_address]' },
    extras: { note: 'fine' },
  })
  assert.equal(input.inputs.question, 'mail me at ada@example.com', 'the input row is not changed')
})

test('nothing to redact returns the same row and no fields', () => {
  const input = row({ q: 'hello' })
  const out = redactRow(input, { detectors: ['email'], patterns: [] })
  assert.equal(out.row, input)
  assert.deepEqual(out.redactedFields, [])
})

test('strings at any depth of JSON text are redacted and the JSON stays valid', () => {
  const prompt = JSON.stringify([
    { role: 'user', content: 'I am ada@example.com', meta: { ip: '192.168.0.7', n: 1 } },
    { role: 'assistant', content: 'noted' },
  ])
  const nested = JSON.stringify({ body: JSON.stringify({ email: 'bob@example.org' }) })
  const out = redactRow(row({ prompt, nested, untouched: '{"a":  1}' }), {
    detectors: ['email', 'ip_address'],
    patterns: [],
  })
  assert.deepEqual(JSON.parse(out.row.inputs.prompt as string), [
    { role: 'user', content: 'I am [REDACTED:email]', meta: { ip: '[REDACTED:ip_address]', n: 1 } },
    { role: 'assistant', content: 'noted' },
  ])
  assert.deepEqual(JSON.parse(JSON.parse(out.row.inputs.nested as string).body), {
    email: '[REDACTED:email]',
  })
  assert.equal(out.row.inputs.untouched, '{"a":  1}', 'unchanged JSON keeps its spelling')
  assert.deepEqual(out.redactedFields, ['inputs.prompt', 'inputs.nested'])
})

test('text that only looks like JSON is redacted as text', () => {
  const out = redactRow(row({ q: '{ not json, mail ada@example.com' }), {
    detectors: ['email'],
    patterns: [],
  })
  assert.equal(out.row.inputs.q, '{ not json, mail [REDACTED:email]')
})

test('media references: URLs are redacted, data URIs are left alone', () => {
  const out = redactRow(
    row({
      image: { type: 'image', ref: 'https://cdn.example.com/u/ada@example.com/cat.png' },
      inline: { type: 'image', ref: 'data:image/png;base64,YWRhQGV4YW1wbGUuY29t' },
    }),
    { detectors: ['email'], patterns: [] },
  )
  assert.deepEqual(out.row.inputs.image, {
    type: 'image',
    ref: 'https://cdn.example.com/u/[REDACTED:email]/cat.png',
  })
  assert.deepEqual(out.row.inputs.inline, {
    type: 'image',
    ref: 'data:image/png;base64,YWRhQGV4YW1wbGUuY29t',
  })
  assert.deepEqual(out.redactedFields, ['inputs.image'])
})

test('the Luhn check and the IPv6 check', () => {
  assert.equal(luhnValid('4111111111111111'), true)
  assert.equal(luhnValid('4111111111111112'), false)
  assert.equal(luhnValid('79927398713'), true)
  assert.equal(luhnValid(''), false)
  for (const ok of ['::1', '2001:db8::', '1:2:3:4:5:6:7:8', '::ffff:1.2.3.4', '64:ff9b::192.0.2.33']) {
    assert.equal(isIpv6(ok), true, ok)
  }
  for (const bad of ['::', '1:2:3', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '::ffff:1.2.3.256', 'g::1']) {
    assert.equal(isIpv6(bad), false, bad)
  }
})

test('adversarial texts are redacted in linear time', () => {
  const redactor = createRedactor({
    detectors: [...REDACTION_DETECTORS],
    patterns: [{ name: 'order', regex: 'ORD-[0-9]{6}' }],
  })
  const n = 100_000
  const texts = [
    'a'.repeat(n),
    '1'.repeat(n),
    '1 '.repeat(n / 2),
    '1-'.repeat(n / 2),
    '1.'.repeat(n / 2),
    '1:'.repeat(n / 2),
    '::'.repeat(n / 2),
    'a@'.repeat(n / 2),
    `${'a.'.repeat(n / 2)}@`,
    'a@a.'.repeat(n / 4),
    '.a@a'.repeat(n / 4),
    `eyJ${'a'.repeat(n)}`,
    `sk-${'a'.repeat(n)}`,
    `Bearer ${'a'.repeat(n)}`,
    'Bearer '.repeat(n / 7),
    '+1 '.repeat(n / 3),
    '+1-2'.repeat(n / 4),
    '(1'.repeat(n / 2),
    '4 '.repeat(n / 2),
    '0:'.repeat(n / 2),
  ]
  for (const text of texts) {
    const started = performance.now()
    redactor(row({ text }))
    const ms = performance.now() - started
    // linear work is a few ms here; backtracking would take seconds
    assert.ok(ms < 250, `${JSON.stringify(text.slice(0, 12))}… took ${ms.toFixed(0)} ms`)
  }
})
