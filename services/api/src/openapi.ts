import { type ZodType, z } from 'zod'
import {
  applicationSchema,
  createApplicationBody,
  listApplicationsQuery,
  listApplicationsResponse,
} from './routes/applications-routes.ts'
import {
  addTraceBody,
  addTraceResponse,
  createDatasetBody,
  datasetItemSchema,
  datasetSchema,
  errorSchema,
  exportQuery,
  fromSpansBody,
  fromSpansResponse,
  listDatasetsQuery,
  listDatasetsResponse,
  listItemsQuery,
  listItemsResponse,
  patchDatasetBody,
  patchItemBody,
} from './routes/dataset-schemas.ts'
import {
  createdKeySchema,
  createKeyBody,
  keyPageSchema,
  keySchema,
  listKeysQuery,
  rotatedKeySchema,
  rotateKeyBody,
} from './routes/keys-routes.ts'
import { claimBody, claimResponse } from './routes/review-queue-routes.ts'
import {
  BACKFILL_ID_PATTERN,
  backfillResponse,
  ruleRangeBody,
  rulesListResponse,
  ruleTestBody,
  ruleTestResponse,
} from './routes/rules-routes.ts'
import { searchPromotionBody, spanSearchBody, spanSearchResponse } from './routes/spans-search-route.ts'
import { principalResponse, traceQuery, traceResponse } from './v1-schemas.ts'

type JsonObject = Record<string, unknown>

/**
 * Recursive schemas (z.json()) convert with local `$defs`, which `#/$defs/…` cannot reach
 * once the schema sits inside a path of the document: they move to components.schemas,
 * one entry per distinct definition, and their references follow.
 */
const sharedSchemas: Record<string, JsonObject> = {}
const sharedNames = new Map<string, string>()

function hoistDefinitions(schema: JsonObject): JsonObject {
  const defs = schema.$defs as Record<string, JsonObject> | undefined
  if (!defs) return schema
  const { $defs: _, ...rest } = schema
  const renamed = Object.entries(defs).map(([name, definition]) => {
    const content = JSON.stringify(definition)
    const shared = sharedNames.get(content) ?? `json_value_${sharedNames.size}`
    sharedNames.set(content, shared)
    return { name, shared, content }
  })
  const rewrite = (text: string) =>
    renamed.reduce(
      (t, { name, shared }) => t.replaceAll(`"#/$defs/${name}"`, `"#/components/schemas/${shared}"`),
      text,
    )
  for (const { shared, content } of renamed)
    sharedSchemas[shared] = JSON.parse(rewrite(content)) as JsonObject
  return JSON.parse(rewrite(JSON.stringify(rest))) as JsonObject
}

const json = (schema: ZodType, io: 'input' | 'output') => {
  const converted = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' })
  const { $schema: _, ...rest } = converted as JsonObject
  return hoistDefinitions(rest)
}

const requestBody = (schema: ZodType) => ({
  required: true,
  content: { 'application/json': { schema: json(schema, 'input') } },
})

const answer = (description: string, schema?: ZodType, headers?: JsonObject) => ({
  description,
  ...(headers ? { headers } : {}),
  ...(schema ? { content: { 'application/json': { schema: json(schema, 'output') } } } : {}),
})

/** Query parameters from a zod object schema, one per property. */
function queryParameters(schema: ZodType): JsonObject[] {
  const object = json(schema, 'input') as { properties?: Record<string, JsonObject>; required?: string[] }
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: object.required?.includes(name) ?? false,
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }))
}

const pathParameter = (
  name: string,
  description: string,
  schema: JsonObject = { type: 'string', format: 'uuid' },
) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema,
})

const locationHeader = { Location: { description: 'Where to poll the backfill', schema: { type: 'string' } } }

/** The error answers every authenticated operation may give, all in the one error shape. */
const commonErrors = {
  '400': answer('invalid request (invalid_argument, bad_request, range_not_bounded)', errorSchema),
  '401': answer(
    'missing or unknown key (unauthenticated), revoked (key_revoked) or expired (key_expired)',
    errorSchema,
  ),
  '403': answer('a key used outside its application, or an application key on an admin route', errorSchema),
  '404': answer('not found, or another application’s', errorSchema),
  '413': answer(
    'request body over SPANSIFT_API_MAX_BODY_BYTES (payload_too_large), refused unread',
    errorSchema,
  ),
  '503': answer(
    'storage or the bus unreachable right now (unavailable); retry after Retry-After',
    errorSchema,
    {
      'Retry-After': { description: 'seconds', schema: { type: 'string' } },
    },
  ),
}
const conflict = (description: string) => ({ '409': answer(description, errorSchema) })
const unprocessable = (description: string) => ({ '422': answer(description, errorSchema) })

interface OperationSpec {
  summary: string
  body?: ZodType
  query?: ZodType
  responses: JsonObject
}

/** An authenticated operation: the standard errors, then its own answers. */
const operation = (spec: OperationSpec): JsonObject => ({
  summary: spec.summary,
  ...(spec.query ? { parameters: queryParameters(spec.query) } : {}),
  ...(spec.body ? { requestBody: requestBody(spec.body) } : {}),
  responses: { ...commonErrors, ...spec.responses },
})

/** An operation open to anyone (health, readiness, this document). */
const openOperation = (summary: string, responses: JsonObject): JsonObject => ({
  summary,
  security: [],
  responses,
})

const statusSchema = z.strictObject({ status: z.string() })

/**
 * The OpenAPI 3.1 document of every route of the API app, generated from the zod schemas
 * the routes validate with (z.toJSONSchema), so the document cannot drift from the code.
 * app-routes-documented.test.ts fails when a route of the app is missing here.
 */
export function buildOpenApiDocument(): JsonObject {
  const datasetId = pathParameter('id', 'dataset id')
  const itemId = pathParameter('item_id', 'item id')
  const ruleId = pathParameter('rule_id', 'rule id', { type: 'string', minLength: 1, maxLength: 200 })
  const applicationParameter = pathParameter('application', 'application id or name', {
    type: 'string',
    minLength: 1,
    maxLength: 200,
  })
  return {
    openapi: '3.1.0',
    info: {
      title: 'spansift API',
      version: '1.0.0',
      description:
        'Turn OpenTelemetry spans into eval and training datasets. Every error is {error: {code, message, details?}}; a known path asked with another method is 405 with an Allow header. Lists page with `limit` and `cursor` and answer `next_cursor` (null on the last page).',
    },
    components: {
      schemas: sharedSchemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <key>' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-KEY' },
      },
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths: {
      ...keyPaths(),
      '/healthz': {
        get: openOperation('Liveness', { '200': answer('alive', statusSchema) }),
      },
      '/readyz': {
        get: openOperation('Readiness: the API’s dependencies answer', {
          '200': answer('ready', statusSchema),
          '503': answer('not ready', statusSchema),
        }),
      },
      '/openapi.json': {
        get: openOperation('This document', {
          '200': { description: 'the OpenAPI document', content: { 'application/json': {} } },
        }),
      },
      '/v1/principal': {
        get: operation({
          summary: 'Who the key is: the admin, or an application key and its application',
          responses: { '200': answer('the principal', principalResponse) },
        }),
      },
      '/v1/applications': {
        post: operation({
          summary: 'Create an application (admin key); its name is unique',
          body: createApplicationBody,
          responses: {
            '201': answer('the application', applicationSchema),
            ...conflict('an application of that name exists'),
          },
        }),
        get: operation({
          summary: 'List applications (admin key), oldest first, a page at a time; or find one by name',
          query: listApplicationsQuery,
          responses: { '200': answer('a page of applications', listApplicationsResponse) },
        }),
      },
      '/v1/applications/{application}': {
        parameters: [applicationParameter],
        get: operation({
          summary: 'Get an application by id or by name (an application key: its own only)',
          responses: { '200': answer('the application', applicationSchema) },
        }),
      },
      '/v1/traces/{trace_id}': {
        parameters: [
          pathParameter('trace_id', 'trace id, 32 hex characters', {
            type: 'string',
            pattern: '^[0-9a-fA-F]{32}$',
          }),
        ],
        get: operation({
          summary: 'The stored spans of a trace within a time range',
          query: traceQuery,
          responses: { '200': answer('the spans of the trace', traceResponse) },
        }),
      },
      '/v1/datasets': {
        post: operation({
          summary: 'Create a dataset',
          body: createDatasetBody,
          responses: {
            '201': answer('the dataset', datasetSchema),
            ...conflict('the application has a dataset of that name'),
          },
        }),
        get: operation({
          summary: 'List datasets, oldest first, a page at a time',
          query: listDatasetsQuery,
          responses: { '200': answer('a page of datasets', listDatasetsResponse) },
        }),
      },
      '/v1/datasets/{id}': {
        parameters: [datasetId],
        get: operation({
          summary: 'Get a dataset',
          responses: { '200': answer('the dataset', datasetSchema) },
        }),
        patch: operation({
          summary: "Change the dataset's feedback categories (shared by every reviewer)",
          body: patchDatasetBody,
          responses: { '200': answer('the dataset', datasetSchema) },
        }),
        delete: operation({
          summary: 'Delete a dataset and its rows',
          responses: { '204': answer('deleted'), ...conflict('a training dataset excludes it') },
        }),
      },
      '/v1/datasets/{id}/publish': {
        parameters: [datasetId],
        post: operation({
          summary: 'Publish the draft version (freeze it)',
          responses: { '200': answer('the dataset', datasetSchema), ...conflict('no draft, or empty') },
        }),
      },
      '/v1/datasets/{id}/items': {
        parameters: [datasetId],
        get: operation({
          summary: 'Review queue: list rows, filtered, a page at a time',
          query: listItemsQuery,
          responses: { '200': answer('a page of rows', listItemsResponse) },
        }),
      },
      '/v1/datasets/{id}/items/{item_id}': {
        parameters: [datasetId, itemId],
        get: operation({ summary: 'Get a row', responses: { '200': answer('the row', datasetItemSchema) } }),
        patch: operation({
          summary: 'Annotate a row (name at least one field)',
          body: patchItemBody,
          responses: { '200': answer('the row', datasetItemSchema), ...conflict('the version is published') },
        }),
        delete: operation({
          summary: 'Delete a row',
          responses: { '204': answer('deleted'), ...conflict('the version is published') },
        }),
      },
      '/v1/datasets/{id}/export': {
        parameters: [datasetId],
        get: operation({
          summary: 'Export a version as JSONL, CSV, Parquet, or (training) chat fine-tuning JSONL',
          query: exportQuery,
          responses: {
            '200': {
              description:
                'the rows, streamed (docs/genai-content.md). Headers: x-spansift-exported-rows; for chat-jsonl x-spansift-unconvertible-rows and x-spansift-unconvertible-items (the first 20 ids).',
              content: {
                'application/x-ndjson': { schema: { type: 'string' } },
                'text/csv': { schema: { type: 'string' } },
                'application/vnd.apache.parquet': { schema: { type: 'string', format: 'binary' } },
              },
            },
            ...unprocessable(
              'export_empty when there is nothing to write; unconvertible_rows for a strict chat export with rows that do not convert',
            ),
          },
        }),
      },
      '/v1/datasets/{id}/items/from-search': {
        parameters: [datasetId],
        post: operation({
          summary:
            'Add every span a search matches to the dataset, through the backfill engine (poll the Location for progress)',
          body: searchPromotionBody,
          responses: { '202': answer('the backfill, running', backfillResponse, locationHeader) },
        }),
      },
      '/v1/datasets/{id}/queue/claim': {
        parameters: [datasetId],
        post: operation({
          summary:
            'Claim the next empty row of the review queue that no other reviewer holds, under a lease (expires, or is released)',
          body: claimBody,
          responses: {
            '200': answer('the row and its claim, or null when none is free', claimResponse),
            ...conflict('the row asked for is held by another reviewer'),
          },
        }),
      },
      '/v1/datasets/{id}/queue/claims/{claim_id}': {
        parameters: [datasetId, pathParameter('claim_id', 'claim id')],
        delete: operation({
          summary: 'Release a claim before its lease ends',
          responses: { '204': answer('released (or already ended)') },
        }),
      },
      '/v1/spans/search': {
        post: operation({
          summary:
            'Search spans: a rule-language predicate over a required time range (partition-bounded), sorted by start time, a page at a time',
          body: spanSearchBody,
          responses: { '200': answer('a page of spans', spanSearchResponse) },
        }),
      },
      '/v1/rules': {
        get: operation({
          summary:
            'The rules in force: each with its state (active, disabled, error), matches, rows and warnings; the last reload and its errors. Rules come from files, so the list is bounded by them and is one page.',
          responses: { '200': answer('rules and reload status', rulesListResponse) },
        }),
      },
      '/v1/rules/{rule_id}/test': {
        parameters: [ruleId],
        post: operation({
          summary: 'Dry run: stored spans in the range the rule matches, and sample rows; writes nothing',
          body: ruleTestBody,
          responses: { '200': answer('matched count and sample rows', ruleTestResponse) },
        }),
      },
      '/v1/rules/{rule_id}/backfill': {
        parameters: [ruleId],
        post: operation({
          summary:
            'Apply the rule to stored spans in the range, month partition by month partition (resumable; the same rule and range resume)',
          body: ruleRangeBody,
          responses: {
            '202': answer('the backfill, running; poll its Location', backfillResponse, locationHeader),
          },
        }),
      },
      '/v1/rules/backfills/{backfill_id}': {
        parameters: [
          pathParameter('backfill_id', 'backfill id', { type: 'string', pattern: BACKFILL_ID_PATTERN }),
        ],
        get: operation({
          summary: 'A backfill’s progress and outcome',
          responses: { '200': answer('the backfill', backfillResponse) },
        }),
      },
      '/v3/evals/datasets/{dataset_id}/items/from-spans': {
        parameters: [pathParameter('dataset_id', 'Dataset UUID')],
        post: operation({
          summary: 'Bulk add spans to a dataset',
          body: fromSpansBody,
          responses: {
            '200': answer('Dataset items created from spans', fromSpansResponse),
            ...conflict('cap reached, or every candidate excluded by the leakage guard'),
            ...unprocessable('the dataset has no column for a variable the mapping yields'),
          },
        }),
      },
      '/api/public/v2/dataset-versions/add-trace': {
        post: operation({
          summary: 'Add a trace (or a span and its direct children) as a row of the draft version',
          body: addTraceBody,
          responses: {
            '200': answer('Trace added to draft dataset.', addTraceResponse),
            ...conflict('cap reached, or excluded by the leakage guard'),
            ...unprocessable('incompatible columns'),
          },
        }),
      },
    },
  }
}

// ---- Key lifecycle (keys-routes.ts): kept in one block of its own ----

/** A body the route also takes empty (every field optional). */

const keyErrors = {
  '403': answer(
    'not the admin key nor an admin-scoped key of the key’s application, or an ingest-scoped key',
    errorSchema,
  ),
  ...conflict('several keys share that prefix (name it by id), or it is already revoked'),
}

/** An operation whose JSON body may be left out. */
const withOptionalBody = (spec: OperationSpec & { body: ZodType }): JsonObject => {
  const { body, ...rest } = spec
  return { ...operation(rest), requestBody: { ...requestBody(body), required: false } }
}

/** The key routes: list, create, show, revoke, rotate. */
function keyPaths(): Record<string, JsonObject> {
  const keyRef = pathParameter('key', 'key id, or its prefix (ssk_ and 6 characters)', {
    type: 'string',
    minLength: 1,
    maxLength: 200,
  })
  return {
    '/v1/applications/{application}/keys': {
      parameters: [
        pathParameter('application', 'application id or name', {
          type: 'string',
          minLength: 1,
          maxLength: 200,
        }),
      ],
      get: operation({
        summary:
          'List an application’s keys, oldest first, a page at a time (prefix, scope, status, created, last used)',
        query: listKeysQuery,
        responses: { '200': answer('a page of keys', keyPageSchema), ...keyErrors },
      }),
      post: withOptionalBody({
        summary: 'Create a key (shown once; only its hash is stored)',
        body: createKeyBody,
        responses: { '201': answer('the key, with the key itself', createdKeySchema), ...keyErrors },
      }),
    },
    '/v1/keys/{key}': {
      parameters: [keyRef],
      get: operation({
        summary: 'Get a key',
        responses: { '200': answer('the key', keySchema), ...keyErrors },
      }),
    },
    '/v1/keys/{key}/revoke': {
      parameters: [keyRef],
      post: operation({
        summary:
          'Revoke a key: refused on OTLP and the API by every process within SPANSIFT_KEY_CACHE_SECONDS',
        responses: { '200': answer('the key, revoked', keySchema), ...keyErrors },
      }),
    },
    '/v1/keys/{key}/rotate': {
      parameters: [keyRef],
      post: withOptionalBody({
        summary: 'Replace a key: a new key with its scope; the old one revoked now or after grace_seconds',
        body: rotateKeyBody,
        responses: { '201': answer('the new key and the old one', rotatedKeySchema), ...keyErrors },
      }),
    },
  }
}
