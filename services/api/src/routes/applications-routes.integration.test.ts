import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Storage } from '@spansift/clickhouse/storage'
import { openTestStorage } from '@spansift/clickhouse/test-storage'
import { Hono } from 'hono'
import { errorResponse } from '../api-error.ts'
import type { ApiEnv } from '../auth-middleware.ts'
import { registerApplicationRoutes } from './applications-routes.ts'

// Application names are unique even across API processes: two apps (each serializing
// only its own creates, as two processes would) over one storage race to create the
// same names. At most one create of a name succeeds; a loser leaves no row behind.

let storage: Storage
before(async () => {
  storage = await openTestStorage('application-names')
})
after(async () => {
  await storage?.close()
})

/** One API process's application routes, called as the admin. */
function apiProcess() {
  const app = new Hono<ApiEnv>()
  app.onError((error, c) => errorResponse(error, c, () => {}))
  app.use('*', async (c, next) => {
    c.set('principal', { kind: 'admin' })
    await next()
  })
  registerApplicationRoutes(app, storage.applications)
  return (name: string) =>
    app.request('/applications', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    })
}

test('two API processes racing on one new application name: never two applications of that name', async (t) => {
  const processes = [apiProcess(), apiProcess()]
  let bothFailed = 0
  for (let round = 0; round < 20; round++) {
    const name = `racer-${round}`
    const answers = await Promise.all(processes.map((create) => create(name)))
    const statuses = answers.map((a) => a.status)
    assert.ok(
      statuses.every((s) => s === 201 || s === 409),
      `round ${round}: ${statuses}`,
    )
    const created = statuses.filter((s) => s === 201).length
    assert.ok(created <= 1, `round ${round}: ${created} creates of "${name}" succeeded`)
    if (created === 0) bothFailed++
    assert.equal((await storage.applications.listByName(name)).length, created, `round ${round}: rows`)
  }
  t.diagnostic(`rounds where both creates withdrew, after their retries: ${bothFailed} of 20`)
  assert.ok(bothFailed < 20, 'some round had a winner')
})
