import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type ApiDependencies, createApiApp } from './app.ts'
import { buildOpenApiDocument } from './openapi.ts'

/** The app with dependencies no route reaches: registration only, and an admin for every key. */
function appForRoutes() {
  const deps = new Proxy(
    {
      authenticator: { authenticate: async () => ({ principal: { kind: 'admin' as const } }) },
      logger: { child: () => ({ error: () => {} }) },
    },
    { get: (target, name) => (target as Record<string | symbol, unknown>)[name] },
  ) as unknown as ApiDependencies
  return createApiApp(deps)
}

/** Hono's `/v1/datasets/:id` and OpenAPI's `/v1/datasets/{id}` alike as `/v1/datasets/{}` (names may differ). */
const shape = (path: string) => path.replace(/:[A-Za-z0-9_]+(\{[^}]*\})?|\{[^}]+\}/g, '{}')

test('/openapi.json documents every route the API app registers, with every method', () => {
  const app = appForRoutes()
  const paths = Object.fromEntries(
    Object.entries(buildOpenApiDocument().paths as Record<string, Record<string, unknown>>).map(
      ([path, item]) => [shape(path), item],
    ),
  )
  const routes = app.routes.filter((route) => route.method !== 'ALL')
  assert.ok(routes.length >= 25, `only ${routes.length} routes found: is the app built?`)
  const missing = routes
    .map((route) => `${route.method} ${shape(route.path)}`)
    .filter((route) => {
      const [method, path] = route.split(' ') as [string, string]
      return paths[path]?.[method.toLowerCase()] === undefined
    })
  assert.deepEqual(missing, [], 'document these routes in services/api/src/openapi.ts')
  // And nothing documented that the app does not serve.
  const served = new Set(routes.map((route) => `${route.method.toLowerCase()} ${shape(route.path)}`))
  const stale = Object.entries(paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => key !== 'parameters')
      .map((method) => `${method} ${path}`)
      .filter((operation) => !served.has(operation)),
  )
  assert.deepEqual(stale, [], 'the document names operations the app does not serve')
})

test('every operation documents its answers in the one error shape, and its path parameters', () => {
  const document = buildOpenApiDocument()
  const paths = document.paths as Record<string, Record<string, { responses?: Record<string, any> }>>
  for (const [path, item] of Object.entries(paths)) {
    const declared = new Set(
      [...((item.parameters as unknown as Array<{ name: string }>) ?? [])].map((p) => p.name),
    )
    for (const name of path.match(/\{([^}]+)\}/g) ?? []) {
      assert.ok(declared.has(name.slice(1, -1)), `${path}: path parameter ${name} undeclared`)
    }
    for (const [method, operation] of Object.entries(item)) {
      if (method === 'parameters' || path === '/healthz' || path === '/readyz' || path === '/openapi.json')
        continue
      for (const status of ['400', '401', '403', '404', '413', '503']) {
        const schema = operation.responses?.[status]?.content?.['application/json']?.schema
        assert.ok(schema?.properties?.error, `${method} ${path}: ${status} lacks the error shape`)
      }
    }
  }
  assert.equal(JSON.stringify(document).includes('#/$defs/'), false, 'a $ref the document cannot resolve')
})

test('PATCH of a row refuses {} in the document as the route does (minProperties)', () => {
  const paths = buildOpenApiDocument().paths as Record<string, any>
  const schema =
    paths['/v1/datasets/{id}/items/{item_id}'].patch.requestBody.content['application/json'].schema
  assert.equal(schema.minProperties, 1)
  assert.equal(schema.additionalProperties, false)
})

test('a known path asked with another method is 405 with Allow and the error shape; an unknown path 404', async () => {
  const app = appForRoutes()
  const wrong = await app.request('/v1/datasets', { method: 'PUT', headers: { authorization: 'Bearer k' } })
  assert.equal(wrong.status, 405)
  assert.equal(wrong.headers.get('allow'), 'GET, HEAD, POST')
  assert.equal(((await wrong.json()) as { error: { code: string } }).error.code, 'method_not_allowed')
  const withParameter = await app.request('/v1/datasets/00000000-0000-4000-8000-000000000000/items', {
    method: 'DELETE',
    headers: { authorization: 'Bearer k' },
  })
  assert.equal(withParameter.status, 405)
  assert.equal(withParameter.headers.get('allow'), 'GET, HEAD')
  // A path segment a route constrains: from-search is no row id.
  const notARow = await app.request('/v1/datasets/00000000-0000-4000-8000-000000000000/items/from-search', {
    method: 'PATCH',
    headers: { authorization: 'Bearer k' },
  })
  assert.equal(notARow.status, 405)
  assert.equal(notARow.headers.get('allow'), 'POST')
  const unknown = await app.request('/v1/nothing-here', { headers: { authorization: 'Bearer k' } })
  assert.equal(unknown.status, 404)
  assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'not_found')
})
