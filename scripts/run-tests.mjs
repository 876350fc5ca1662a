#!/usr/bin/env node
// Runs one package's tests with Node's own test runner.
// `unit` runs `*.test.ts` beside the code, `integration` runs `*.integration.test.ts`
// (the ones that need the real ClickHouse engine or a Kafka broker). Files run one
// process each, one at a time: the embedded ClickHouse engine binds one data
// directory per process, and the machine has two cores.
import { spawnSync } from 'node:child_process'
import { globSync } from 'node:fs'

const kind = process.argv[2]
if (kind !== 'unit' && kind !== 'integration') {
  console.error('usage: run-tests.mjs unit|integration')
  process.exit(2)
}
const all = globSync('{src,bin,test}/**/*.test.ts', { exclude: (p) => p.includes('node_modules') })
const files = all.filter((f) => f.endsWith('.integration.test.ts') === (kind === 'integration')).sort()
if (files.length === 0) {
  console.log(`no ${kind} tests in ${process.cwd()}`)
  process.exit(0)
}
// Test support (`test-*.ts`) is exported only under the `spansift-test` condition, so
// what the packages export to the product holds none of it; tests resolve it with this.
const args = ['--conditions=spansift-test', '--test', '--test-concurrency=1', '--test-timeout=300000']
if (!process.stdout.isTTY) args.push('--test-reporter=spec')
const result = spawnSync(process.execPath, [...args, ...files], { stdio: 'inherit' })
process.exit(result.status ?? 1)
