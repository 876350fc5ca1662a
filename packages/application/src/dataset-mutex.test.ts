import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createKeyedMutex } from './dataset-mutex.ts'

const tick = () => new Promise((resolve) => setTimeout(resolve, 1))

test('tasks of one key run one at a time, in order; other keys run alongside', async () => {
  const mutex = createKeyedMutex()
  const log: string[] = []
  let running = 0
  let maxRunning = 0
  const task = (name: string) => async () => {
    running++
    maxRunning = Math.max(maxRunning, running)
    log.push(`start ${name}`)
    await tick()
    log.push(`end ${name}`)
    running--
    return name
  }
  const results = await Promise.all([
    mutex.run('a', task('a1')),
    mutex.run('a', task('a2')),
    mutex.run('a', task('a3')),
  ])
  assert.deepEqual(results, ['a1', 'a2', 'a3'])
  assert.equal(maxRunning, 1)
  assert.deepEqual(log, ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3'])
  let both = 0
  await Promise.all([
    mutex.run('x', async () => {
      both++
      await tick()
      assert.equal(both, 2)
    }),
    mutex.run('y', async () => {
      both++
      await tick()
    }),
  ])
})

test('a failing task rejects its caller only, and the key is forgotten when idle', async () => {
  const mutex = createKeyedMutex()
  const failed = mutex.run('k', async () => {
    throw new Error('boom')
  })
  const next = mutex.run('k', async () => 'ok')
  await assert.rejects(failed, /boom/)
  assert.equal(await next, 'ok')
  await tick()
  assert.equal(mutex.size(), 0)
})
