import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import { StorageRejectedError, StorageUnavailableError } from '@spansift/core/storage-errors'
import { Hono } from 'hono'
import { z } from 'zod'
import { errorResponse } from './api-error.ts'

function appThrowing(error: unknown) {
  const app = new Hono()
  app.onError((e, c) => errorResponse(e, c, () => {}))
  app.get('/', () => {
    throw error
  })
  return app
}

test('each error becomes its status and a {error: {code, message}} body', async () => {
  const cases: Array<[unknown, number, string]> = [
    [new SpansiftError(ErrorCode.notFound, 'no dataset x'), 404, 'not_found'],
    [new SpansiftError(ErrorCode.forbidden, 'other app'), 403, 'forbidden'],
    [z.object({ name: z.string() }).safeParse({}).error, 400, 'invalid_argument'],
    [new SyntaxError('Unexpected token'), 400, 'bad_request'],
    [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }),
      503,
      'unavailable',
    ],
    [new StorageUnavailableError('TOO_MANY_PARTS'), 503, 'unavailable'],
    [new StorageRejectedError('Cannot parse UUID', { code: 376 }), 400, 'invalid_argument'],
    [new Error('a bug'), 500, 'internal'],
  ]
  for (const [error, status, code] of cases) {
    const response = await appThrowing(error).request('/')
    assert.equal(response.status, status, code)
    const body = (await response.json()) as { error: { code: string; message: string } }
    assert.equal(body.error.code, code)
    assert.ok(body.error.message.length > 0)
    if (status === 503) assert.equal(response.headers.get('retry-after'), '2')
  }
})
