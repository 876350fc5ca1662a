import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseReadmeBlocks } from './test-readme-blocks.ts'

// The README test's reading of markers and fences: what it runs, what it skips, and
// that a block it cannot run is reported rather than ignored.

const fence = '```'

test('shell blocks run, file blocks are written, a marker on the line before the fence skips', () => {
  const blocks = parseReadmeBlocks(
    [
      '# Title',
      `${fence}sh`,
      'echo one',
      fence,
      '<!-- readme-test: skip — needs a Kafka cluster -->',
      `${fence}bash`,
      'kafka.sh start',
      fence,
      `${fence}js`,
      '// file: send.mjs',
      'console.log(1)',
      fence,
      `${fence}python`,
      '# file: chat.py',
      'print(1)',
      fence,
      `${fence}text`,
      'a listing',
      fence,
    ].join('\n'),
  )
  assert.deepEqual(
    blocks.map((b) => [b.kind, b.line, b.fileName ?? b.reason ?? b.text]),
    [
      ['shell', 2, 'echo one'],
      ['skipped', 6, 'needs a Kafka cluster'],
      ['file', 9, 'send.mjs'],
      ['file', 13, 'chat.py'],
      ['text', 17, 'a listing'],
    ],
  )
})

test('a block the test cannot run is unrunnable, unless the marker is right before it', () => {
  const blocks = parseReadmeBlocks(
    [
      '<!-- readme-test: skip — too far away -->',
      '',
      `${fence}yaml`,
      'a: 1',
      fence,
      fence,
      'no language',
      fence,
      `${fence}js`,
      'console.log("no file line")',
      fence,
      '<!-- readme-test: skip -->',
      `${fence}sh`,
      'echo "a marker without a reason does not count"',
      fence,
    ].join('\n'),
  )
  assert.deepEqual(
    blocks.map((b) => [b.kind, b.line]),
    [
      ['unrunnable', 3],
      ['unrunnable', 6],
      ['unrunnable', 9],
      ['shell', 13],
    ],
  )
  assert.throws(() => parseReadmeBlocks(`${fence}sh\necho open`), /README.md:1: a fence that never closes/)
})
