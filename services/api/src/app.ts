import type { ReviewQueue } from '@spansift/application/review-queue'
import type { ApiKeysRepository } from '@spansift/clickhouse/api-keys-repository'
import type { ApplicationsRepository } from '@spansift/clickhouse/applications-repository'
import type { SpanSearchRepository } from '@spansift/clickhouse/span-search-repository'
import type { SpansRepository } from '@spansift/clickhouse/spans-repository'
import type { Authenticator } from '@spansift/core/authenticator'
import { ErrorCode, SpansiftError } from '@spansift/core/error-codes'
import type { Logger } from '@spansift/core/logger'
import type { RulesService } from '@spansift/core/rules/rules-service-port'
import { spanToJson } from '@spansift/core/span-json'
import { parseLookupRange } from '@spansift/core/time-range'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { errorResponse } from './api-error.ts'
import { type ApiEnv, applicationScope, authenticate } from './auth-middleware.ts'
import { createAllowedMethods, methodNotAllowed } from './method-not-allowed.ts'
import { buildOpenApiDocument } from './openapi.ts'
import { registerAddTraceRoute } from './routes/add-trace-route.ts'
import { registerApplicationRoutes } from './routes/applications-routes.ts'
import type { DatasetRouteDependencies } from './routes/dataset-route-dependencies.ts'
import { traceIdSchema } from './routes/dataset-schemas.ts'
import { registerDatasetRoutes } from './routes/datasets-routes.ts'
import { registerFromSpansRoute } from './routes/from-spans-route.ts'
import { registerKeyRoutes } from './routes/keys-routes.ts'
import { registerReviewQueueRoutes } from './routes/review-queue-routes.ts'
import { registerRuleRoutes } from './routes/rules-routes.ts'
import { registerSpanSearchRoutes } from './routes/spans-search-route.ts'
import { traceQuery } from './v1-schemas.ts'

export interface ApiDependencies extends DatasetRouteDependencies {
  authenticator: Authenticator
  applications: ApplicationsRepository
  apiKeys: ApiKeysRepository
  spans: SpansRepository
  logger: Logger
  /** True when the API's dependencies answer (for /readyz). */
  ready(): Promise<boolean>
  /** The rules routes' backend (/v1/rules…), and the search promotions' backfills. */
  rules: RulesService
  /** POST /v1/spans/search. */
  spanSearch: SpanSearchRepository
  /** The review queue's claims (/v1/datasets/{id}/queue…). */
  reviewQueue: ReviewQueue
  /** The web app's files by URL path (`/` and `/ui/…`), when it is served. */
  webAssets?: ReadonlyMap<string, { body: Uint8Array; contentType: string }> | undefined
  /** The largest request body; larger ones get 413 before they are parsed. `DEFAULT_API_MAX_BODY_BYTES` by default. */
  maxBodyBytes?: number
}

/** The default API body limit: far above any request the API takes (rows of a few spans each), far below what hurts. */
export const DEFAULT_API_MAX_BODY_BYTES = 4 * 1024 * 1024

/** The HTTP API (Hono). Routes translate HTTP into repository calls; errors go through `onError`. */
export function createApiApp(deps: ApiDependencies): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>()
  const logger = deps.logger.child({ component: 'api' })

  app.onError((error, c) =>
    errorResponse(error, c, (unexpected) =>
      logger.error('request failed', { error: unexpected, path: c.req.path }),
    ),
  )
  // A path the API knows asked with another method is 405 with Allow, not 404.
  const allowedMethods = createAllowedMethods(app)
  app.notFound((c) => {
    const allowed = allowedMethods(c.req.path)
    if (allowed.length === 0) {
      return errorResponse(
        new SpansiftError(ErrorCode.notFound, `no route ${c.req.method} ${c.req.path}`),
        c,
        () => {},
      )
    }
    c.header('allow', allowed.join(', '))
    return errorResponse(methodNotAllowed(c.req.method, c.req.path, allowed), c, () => {})
  })

  // Before anything reads a body: a Content-Length over the limit is refused unread, a
  // chunked body is cut off at the limit (never buffered past it).
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_API_MAX_BODY_BYTES
  app.use(
    '*',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new SpansiftError(
          ErrorCode.payloadTooLarge,
          `the request body is larger than ${maxBodyBytes} bytes (SPANSIFT_API_MAX_BODY_BYTES)`,
        )
      },
    }),
  )

  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  const openApi = buildOpenApiDocument()
  app.get('/openapi.json', (c) => c.json(openApi))
  app.get('/readyz', async (c) =>
    (await deps.ready()) ? c.json({ status: 'ready' }) : c.json({ status: 'not ready' }, 503),
  )

  // The web app: static files only, outside /v1 and /openapi.json; it calls the public API.
  for (const [path, asset] of deps.webAssets ?? []) {
    app.get(path, (c) => {
      c.header('content-type', asset.contentType)
      c.header('cache-control', 'no-cache')
      return c.body(asset.body as Uint8Array<ArrayBuffer>)
    })
  }

  const v1 = new Hono<ApiEnv>()
  v1.use('*', authenticate(deps.authenticator))

  // Who the key is: the web app signs in with it, and an application key learns its application.
  v1.get('/principal', (c) => {
    const principal = c.get('principal')
    return c.json(
      principal.kind === 'admin'
        ? { kind: 'admin', application_id: null }
        : {
            kind: 'application',
            application_id: principal.applicationId,
            key_id: principal.keyId,
            scope: principal.scope,
          },
    )
  })

  registerApplicationRoutes(v1, deps.applications)

  registerKeyRoutes(v1, deps)

  v1.get('/traces/:trace_id', async (c) => {
    const traceId = traceIdSchema.parse(c.req.param('trace_id'))
    // The range first: a lookup without one is range_not_bounded, whatever else is wrong.
    const range = parseLookupRange(c.req.query('start_time'), c.req.query('end_time'))
    const query = traceQuery.parse(c.req.query())
    const applicationId = applicationScope(c.get('principal'), query.application_id)
    const spans = await deps.spans.findTrace(applicationId, traceId, range)
    // A trace of another application and a trace that does not exist look the same.
    if (spans.length === 0)
      throw new SpansiftError(ErrorCode.notFound, `no spans of trace ${traceId} in that time range`)
    return c.json({ spans: spans.map(spanToJson) })
  })

  registerDatasetRoutes(v1, deps)
  registerRuleRoutes(v1, deps.rules)
  registerSpanSearchRoutes(v1, deps)
  registerReviewQueueRoutes(v1, deps)
  app.route('/v1', v1)

  // The two routes shaped like hosted products' public APIs, under the same authentication.
  const v3 = new Hono<ApiEnv>()
  v3.use('*', authenticate(deps.authenticator))
  registerFromSpansRoute(v3, deps)
  app.route('/v3', v3)
  const publicV2 = new Hono<ApiEnv>()
  publicV2.use('*', authenticate(deps.authenticator))
  registerAddTraceRoute(publicV2, deps)
  app.route('/api/public/v2', publicV2)
  return app
}
