import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { describe, it } from 'node:test'
import { parseConfig } from './config.ts'
import { describeStartError } from './start-errors.ts'

describe('start-up errors', () => {
  it('a port in use names the variable that moves it', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    const config = parseConfig({ SPANSIFT_API_PORT: String(port) })
    const second = createServer()
    const error = await new Promise<unknown>((resolve) => {
      second.once('error', resolve)
      second.listen(port, '127.0.0.1')
    })
    taken.close()
    assert.equal(
      describeStartError(error, config),
      `127.0.0.1:${port} is already in use: set SPANSIFT_API_PORT to a free port (or stop what listens there)`,
    )
  })

  it('other errors are left as they are', () => {
    assert.equal(describeStartError(new Error('boom'), parseConfig({})), undefined)
    assert.equal(describeStartError(undefined, parseConfig({})), undefined)
  })
})
