import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { nodeVersionProblem, REQUIRED_NODE_MAJOR } from './node-version.mjs'

describe('the launcher', () => {
  it('names the Node version it needs to an older Node, and lets 24 and newer through', () => {
    assert.match(
      nodeVersionProblem('20.20.2') ?? '',
      /needs Node\.js 24 or newer; this is Node\.js 20\.20\.2/,
    )
    assert.match(nodeVersionProblem('garbage') ?? '', /needs Node\.js 24/)
    assert.equal(nodeVersionProblem('24.0.0'), undefined)
    assert.equal(nodeVersionProblem('25.1.0'), undefined)
    assert.equal(REQUIRED_NODE_MAJOR, 24)
  })

  // The machine's system Node, where it is older than 24 (CI installs 24 beside it).
  const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => {
    if (!existsSync(path)) return false
    const version = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim()
    return Number.parseInt(version, 10) < REQUIRED_NODE_MAJOR
  })
  it('run by an older Node, prints that one line and exits 1', {
    skip: systemNode === undefined ? 'no Node older than 24 on this machine' : false,
  }, () => {
    const launcher = fileURLToPath(new URL('./spansift.mjs', import.meta.url))
    const result = spawnSync(systemNode!, [launcher, '--help'], { encoding: 'utf8' })
    assert.equal(result.status, 1)
    assert.match(result.stderr, /^spansift needs Node\.js 24 or newer; this is Node\.js \d+/)
    assert.doesNotMatch(result.stderr, /ERR_UNKNOWN_FILE_EXTENSION/)
  })

  it('run by this Node, starts the CLI', () => {
    const launcher = fileURLToPath(new URL('./spansift.mjs', import.meta.url))
    const result = spawnSync(process.execPath, [launcher, '--help'], { encoding: 'utf8' })
    assert.equal(result.status, 0, result.stderr)
    assert.match(result.stdout, /usage: spansift <command>/)
  })
})
