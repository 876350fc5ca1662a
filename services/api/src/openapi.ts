import { KEY_SCOPES } from '@spansift/core/key-scope'
import { type ZodType, z } from 'zod'
import {
  applicationSchema,
  createApplicationBody,
  listApplicationsQuery,
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
  listItemsQuery,
  listItemsResponse,
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
import { ruleRangeBody, ruleTestBody } from './routes/rules-routes.ts'
import { searchPromotionBody, spanSearchBody, spanSearchResponse } from './routes/spans-search-route.ts'

type JsonObject = Record<string, unknown>

const json = (schema: ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any' })

const body = (schema: ZodType) => ({
  required: true,
  content: { 'application/json': { schema: json(schema, 'input') } },
})

const answer = (description: string, schema?: ZodType) =>
  schema
    ? { description, content: { 'application/json': { schema: json(schema, 'output') } } }
    : { description }

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

const pathParameter = (name: string, description: string, format = 'uuid') => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', format },
})

const errors = {
  '400': answer('invalid request', errorSchema),
  '401': answer(
    'missing or unknown key (unauthenticated), revoked (key_revoked) or expired (key_expired)',
    errorSchema,
  ),
  '403': answer('a key used outside its application', errorSchema),
  '404': answer('not found, or another application’s', errorSchema),
  '413': answer(
    'request body over SPANSIFT_API_MAX_BODY_BYTES (payload_too_large), refused unread',
    errorSchema,
  ),
}

/**
 * The OpenAPI 3.1 document of the dataset API, generated from the zod schemas the
 * routes validate with (z.toJSONSchema), so the document cannot drift from the code.
 */
export function buildOpenApiDocument(): JsonObject {
  const datasetId = pathParameter('id', 'dataset id')
  const itemId = pathParameter('item_id', 'item id')
  return {
    openapi: '3.1.0',
    info: {
      title: 'spansift API',
      version: '1.0.0',
      description: 'Turn OpenTelemetry spans into eval and training datasets.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-KEY' },
      },
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths: {
      ...keyPaths(),
      '/v1/applications': {
        post: {
          summary: 'Create an application (admin key); its name is unique',
          requestBody: body(createApplicationBody),
          responses: {
            '201': answer('the application', applicationSchema),
            '409': answer('an application of that name exists', errorSchema),
            ...errors,
          },
        },
        get: {
          summary: 'List applications (admin key), or find one by name',
          parameters: queryParameters(listApplicationsQuery),
          responses: {
            '200': answer('applications', z.object({ applications: z.array(applicationSchema) })),
            ...errors,
          },
        },
      },
      '/v1/applications/{application}': {
        parameters: [pathParameter('application', 'application id or name', 'string')],
        get: {
          summary: 'Get an application by id or by name (an application key: its own only)',
          responses: { '200': answer('the application', applicationSchema), ...errors },
        },
      },
      '/v1/datasets': {
        post: {
          summary: 'Create a dataset',
          requestBody: body(createDatasetBody),
          responses: {
            '201': answer('the dataset', datasetSchema),
            '409': answer('the application has a dataset of that name', errorSchema),
            ...errors,
          },
        },
        get: {
          summary: 'List datasets',
          parameters: queryParameters(listDatasetsQuery),
          responses: { '200': answer('datasets', z.object({ datasets: z.array(datasetSchema) })), ...errors },
        },
      },
      '/v1/datasets/{id}': {
        parameters: [datasetId],
        get: {
          summary: 'Get a dataset',
          responses: { '200': answer('the dataset', datasetSchema), ...errors },
        },
        delete: {
          summary: 'Delete a dataset and its rows',
          responses: {
            '204': answer('deleted'),
            '409': answer('a training dataset excludes it', errorSchema),
            ...errors,
          },
        },
      },
      '/v1/datasets/{id}/publish': {
        parameters: [datasetId],
        post: {
          summary: 'Publish the draft version (freeze it)',
          responses: {
            '200': answer('the dataset', datasetSchema),
            '409': answer('no draft, or empty', errorSchema),
            ...errors,
          },
        },
      },
      '/v1/datasets/{id}/items': {
        parameters: [datasetId],
        get: {
          summary: 'Review queue: list rows, filtered and paginated',
          parameters: queryParameters(listItemsQuery),
          responses: { '200': answer('a page of rows', listItemsResponse), ...errors },
        },
      },
      '/v1/datasets/{id}/items/{item_id}': {
        parameters: [datasetId, itemId],
        get: { summary: 'Get a row', responses: { '200': answer('the row', datasetItemSchema), ...errors } },
        patch: {
          summary: 'Annotate a row',
          requestBody: body(patchItemBody),
          responses: { '200': answer('the row', datasetItemSchema), ...errors },
        },
        delete: { summary: 'Delete a row', responses: { '204': answer('deleted'), ...errors } },
      },
      '/v1/datasets/{id}/export': {
        parameters: [datasetId],
        get: {
          summary: 'Export a version as JSONL, CSV, Parquet, or (training) chat fine-tuning JSONL',
          parameters: queryParameters(exportQuery),
          responses: {
            '200': {
              description:
                'the rows, streamed (docs/genai-content.md). Headers: x-spansift-exported-rows; for chat-jsonl x-spansift-unconvertible-rows and x-spansift-unconvertible-items (the first 20 ids). 422 export_empty when there is nothing to write, 422 unconvertible_rows for a strict chat export with rows that do not convert.',
              content: {
                'application/x-ndjson': {},
                'text/csv': {},
                'application/vnd.apache.parquet': {},
              },
            },
            ...errors,
          },
        },
      },
      '/v3/evals/datasets/{dataset_id}/items/from-spans': {
        parameters: [pathParameter('dataset_id', 'Dataset UUID')],
        post: {
          summary: 'Bulk add spans to a dataset',
          requestBody: body(fromSpansBody),
          responses: {
            '200': answer('Dataset items created from spans', fromSpansResponse),
            '409': answer('cap reached, or every candidate excluded by the leakage guard', errorSchema),
            '422': answer('the dataset has no column for a variable the mapping yields', errorSchema),
            ...errors,
          },
        },
      },
      '/v1/principal': {
        get: {
          summary: 'Who the key is: the admin, or an application key and its application',
          responses: {
            '200': answer(
              'the principal',
              z.object({
                kind: z.enum(['admin', 'application']),
                application_id: z.string().nullable(),
                key_id: z.uuid().optional().meta({ description: 'An application key’s id.' }),
                scope: z.enum(KEY_SCOPES).optional().meta({ description: 'An application key’s scope.' }),
              }),
            ),
            ...errors,
          },
        },
      },
      '/v1/spans/search': {
        post: {
          summary:
            'Search spans: a rule-language predicate over a required time range (partition-bounded), sorted by start time, a page at a time',
          requestBody: body(spanSearchBody),
          responses: { '200': answer('a page of spans', spanSearchResponse), ...errors },
        },
      },
      '/v1/datasets/{id}/items/from-search': {
        parameters: [datasetId],
        post: {
          summary:
            'Add every span a search matches to the dataset, through the backfill engine (poll the Location for progress)',
          requestBody: body(searchPromotionBody),
          responses: { '202': answer('the backfill, running'), ...errors },
        },
      },
      '/v1/datasets/{id}/queue/claim': {
        parameters: [datasetId],
        post: {
          summary:
            'Claim the next empty row of the review queue that no other reviewer holds, under a lease (expires, or is released)',
          requestBody: body(claimBody),
          responses: {
            '200': answer('the row and its claim, or null when none is free', claimResponse),
            '409': answer('the row asked for is held by another reviewer', errorSchema),
            ...errors,
          },
        },
      },
      '/v1/datasets/{id}/queue/claims/{claim_id}': {
        parameters: [datasetId, pathParameter('claim_id', 'claim id')],
        delete: {
          summary: 'Release a claim before its lease ends',
          responses: { '204': answer('released (or already ended)'), ...errors },
        },
      },
      '/v1/rules': {
        get: {
          summary:
            'The rules in force: each with its state (active, disabled, error), matches, rows and warnings (mapping fields that resolved in none of the rows matched); the last reload and its errors',
          responses: { '200': answer('rules and reload status'), ...errors },
        },
      },
      '/v1/rules/{rule_id}/test': {
        parameters: [pathParameter('rule_id', 'rule id', 'string')],
        post: {
          summary: 'Dry run: stored spans in the range the rule matches, and sample rows; writes nothing',
          requestBody: body(ruleTestBody),
          responses: { '200': answer('matched count and sample rows'), ...errors },
        },
      },
      '/v1/rules/{rule_id}/backfill': {
        parameters: [pathParameter('rule_id', 'rule id', 'string')],
        post: {
          summary:
            'Apply the rule to stored spans in the range, month partition by month partition (resumable; the same rule and range resume)',
          requestBody: body(ruleRangeBody),
          responses: { '202': answer('the backfill, running; poll its Location'), ...errors },
        },
      },
      '/v1/rules/backfills/{backfill_id}': {
        parameters: [pathParameter('backfill_id', 'backfill id', 'string')],
        get: {
          summary: 'A backfill’s progress and outcome',
          responses: { '200': answer('the backfill'), ...errors },
        },
      },
      '/api/public/v2/dataset-versions/add-trace': {
        post: {
          summary: 'Add a trace (or a span and its direct children) as a row of the draft version',
          requestBody: body(addTraceBody),
          responses: {
            '200': answer('Trace added to draft dataset.', addTraceResponse),
            '409': answer('cap reached, or excluded by the leakage guard', errorSchema),
            '422': answer('incompatible columns', errorSchema),
            ...errors,
          },
        },
      },
    },
  }
}

// ---- Key lifecycle (keys-routes.ts): kept in one block of its own ----

/** A body the route also takes empty (every field optional). */
const optionalBody = (schema: ZodType) => ({ ...body(schema), required: false })

const keyErrors = {
  ...errors,
  '403': answer(
    'not the admin key nor an admin-scoped key of the key’s application, or an ingest-scoped key',
    errorSchema,
  ),
  '409': answer('several keys share that prefix (name it by id), or it is already revoked', errorSchema),
}

/** The key routes: list, create, show, revoke, rotate. */
function keyPaths(): Record<string, JsonObject> {
  const keyRef = pathParameter('key', 'key id, or its prefix (ssk_ and 6 characters)', 'string')
  return {
    '/v1/applications/{application}/keys': {
      parameters: [pathParameter('application', 'application id or name', 'string')],
      get: {
        summary:
          'List an application’s keys, oldest first, a page at a time (prefix, scope, status, created, last used)',
        parameters: queryParameters(listKeysQuery),
        responses: { '200': answer('a page of keys', keyPageSchema), ...keyErrors },
      },
      post: {
        summary: 'Create a key (shown once; only its hash is stored)',
        requestBody: optionalBody(createKeyBody),
        responses: { '201': answer('the key, with the key itself', createdKeySchema), ...keyErrors },
      },
    },
    '/v1/keys/{key}': {
      parameters: [keyRef],
      get: { summary: 'Get a key', responses: { '200': answer('the key', keySchema), ...keyErrors } },
    },
    '/v1/keys/{key}/revoke': {
      parameters: [keyRef],
      post: {
        summary:
          'Revoke a key: refused on OTLP and the API by every process within SPANSIFT_KEY_CACHE_SECONDS',
        responses: { '200': answer('the key, revoked', keySchema), ...keyErrors },
      },
    },
    '/v1/keys/{key}/rotate': {
      parameters: [keyRef],
      post: {
        summary: 'Replace a key: a new key with its scope; the old one revoked now or after grace_seconds',
        requestBody: optionalBody(rotateKeyBody),
        responses: { '201': answer('the new key and the old one', rotatedKeySchema), ...keyErrors },
      },
    },
  }
}
