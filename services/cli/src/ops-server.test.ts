import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createJsonLogger } from '@spansift/core/logger'
import { createOpsServer } from './ops-server.ts'

test('the ops server: /readyz names the failing check, a throwing check is down, unknown paths are 404', async () => {
  const ops = createOpsServer({
    host: '127.0.0.1',
    port: 0,
    scrape: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'x_total 1\n' }),
    readinessChecks: {
      clickhouse: async () => true,
      bus: async () => {
        throw new Error('no broker')
      },
    },
    logger: createJsonLogger({ level: 'silent', sink: process.stderr }),
  })
  await ops.start()
  try {
    const base = `http://127.0.0.1:${ops.port()}`
    const ready = await fetch(`${base}/readyz`)
    assert.equal(ready.status, 503)
    assert.deepEqual(await ready.json(), { status: 'not ready', checks: { clickhouse: 'up', bus: 'down' } })
    assert.equal(await (await fetch(`${base}/metrics`)).text(), 'x_total 1\n')
    assert.equal((await fetch(`${base}/healthz`)).status, 200)
    assert.equal((await fetch(`${base}/nope`)).status, 404)
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405)
  } finally {
    await ops.shutdown()
  }
})
