import { ITEM_CURSOR_PATTERN } from '@spansift/core/datasets/cursor'
import {
  MAX_FEEDBACK_CATEGORIES,
  MAX_FEEDBACK_CATEGORY_LENGTH,
} from '@spansift/core/datasets/feedback-categories'
import { DEFAULT_LIST_LIMIT, LIST_CURSOR_PATTERN, MAX_LIST_LIMIT } from '@spansift/core/list-cursor'
import { MAX_LOOKUP_RANGE_DAYS } from '@spansift/core/time-range'
import { z } from 'zod'
import { nameSchema } from './name-schema.ts'

/**
 * The zod schemas of the dataset routes: the routes validate with them and the
 * OpenAPI document (/openapi.json) is generated from them, so the two cannot drift.
 */

export const uuidSchema = z.uuid({ message: 'must be a UUID' })

/** The paging parameters every list takes: a page size, and the previous page's next_cursor (of `pattern`). */
export const pageQuery = (pattern: string) => ({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_LIST_LIMIT)
    .default(DEFAULT_LIST_LIMIT)
    .meta({ description: `Entries per page (default ${DEFAULT_LIST_LIMIT}).` }),
  cursor: z
    .string()
    .regex(new RegExp(pattern), { message: 'cursor is not a cursor this API returned' })
    .optional()
    .meta({ description: 'next_cursor of the previous page; absent: the first page.' }),
})

/** Every list's answer carries the next page's cursor, null on the last page. */
export const nextCursorSchema = z
  .string()
  .nullable()
  .meta({ description: 'Pass as `cursor` for the next page; null on the last page.' })

export const traceIdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{32}$/, { message: 'trace_id must be 32 hex characters (16 bytes)' })
  .transform((s) => s.toLowerCase())

export const spanIdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{16}$/, { message: 'span_id must be 16 hex characters (8 bytes)' })
  .transform((s) => s.toLowerCase())

const fieldMapping = z
  .record(z.string().min(1).max(200), z.string().min(1).max(500))
  .refine((m) => Object.keys(m).length <= 100, { message: 'at most 100 fields per bucket' })

export const mappingSchema = z
  .strictObject({
    inputs: fieldMapping.optional(),
    expected_outputs: fieldMapping.optional(),
    metadata: fieldMapping.optional(),
    extras: fieldMapping.optional(),
  })
  .meta({
    description:
      'Buckets of {field_key: attribute_path}. A path is a built-in (trace.id, span.id, span.name, service.name, span.start_time, span.duration_ns, span.status, …), else a span attribute key, else a resource attribute key; `attributes.`/`resource.` force one source; a path may walk into structured values (gen_ai.prompt.0.content). A path resolving to nothing leaves the field out.',
  })

export const datasetKindSchema = z.enum(['eval', 'training'])

/** A dataset's feedback categories: the values its rows' feedback_category may take. */
export const feedbackCategoriesSchema = z
  .array(z.string().min(1).max(MAX_FEEDBACK_CATEGORY_LENGTH))
  .max(MAX_FEEDBACK_CATEGORIES)
  .refine((list) => new Set(list).size === list.length, { message: 'feedback categories must be unique' })
  .meta({
    uniqueItems: true,
    description:
      "The values a row's feedback_category may take, shared by every reviewer (the review page offers them; keys 1–9 pick the first nine). Empty: any value.",
  })

const createDatasetFields = {
  feedback_categories: feedbackCategoriesSchema.optional(),
  name: nameSchema.meta({ description: 'Unique within the application.' }),
  application_id: uuidSchema
    .optional()
    .meta({ description: 'Required with the admin key; an application key defaults to its own.' }),
}

/** A dataset to create; only a training dataset names one to exclude, which the schema says too. */
export const createDatasetBody = z.discriminatedUnion('kind', [
  z.strictObject({
    ...createDatasetFields,
    kind: z.literal('eval'),
    exclude_dataset_id: z.null({ message: 'only a training dataset may name exclude_dataset_id' }).optional(),
  }),
  z.strictObject({
    ...createDatasetFields,
    kind: z.literal('training'),
    exclude_dataset_id: uuidSchema.nullable().optional().meta({
      description: 'The eval dataset (same application) whose rows it must never hold.',
    }),
  }),
])

/** What a PATCH of a dataset may change: its feedback categories, for now. */
export const patchDatasetBody = z.strictObject({ feedback_categories: feedbackCategoriesSchema })

export const datasetColumnSchema = z.object({
  name: z.string(),
  bucket: z.enum(['inputs', 'expected_outputs']),
})

export const datasetVersionSchema = z.object({
  id: z
    .number()
    .int()
    .meta({ description: 'Globally unique integer id (add-trace answers it as draft_dataset_id).' }),
  number: z.number().int(),
  status: z.enum(['draft', 'published']),
  row_count: z.number().int(),
  created_at: z.string(),
  published_at: z.string().nullable(),
})

export const datasetSchema = z.object({
  id: uuidSchema,
  group_id: z.number().int().positive(),
  name: z.string(),
  application_id: uuidSchema,
  kind: datasetKindSchema,
  exclude_dataset_id: uuidSchema.nullable(),
  row_count: z
    .number()
    .int()
    .meta({ description: 'Rows of the current version (the draft, else the latest published).' }),
  columns: z.array(datasetColumnSchema),
  feedback_categories: z.array(z.string()),
  versions: z.array(datasetVersionSchema),
  created_at: z.string(),
})

export const listDatasetsQuery = z.strictObject({
  application_id: uuidSchema.optional(),
  name: z.string().min(1).max(200).optional().meta({ description: 'Only the datasets of this name.' }),
  ...pageQuery(LIST_CURSOR_PATTERN),
})

const rfc3339 = z.string().meta({ format: 'date-time' })
/** A timestamp filter: validated here (the document's pattern is zod's), passed on in UTC. */
const rfc3339Query = z.iso
  .datetime({ offset: true, message: 'must be an RFC 3339 timestamp' })
  .transform((text) => new Date(text).toISOString())
// A cell is a JSON value: text, a number, a boolean, a media reference ({type: image|pdf, ref}),
// or a structure (a message list, an object) kept as JSON, never JSON text in a string.
const cell = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.object({ type: z.enum(['image', 'pdf']), ref: z.string() }),
  z.array(z.json()),
  z.record(z.string(), z.json()),
])
const bucket = z.record(z.string(), cell)

export const datasetItemSchema = z.object({
  item_id: uuidSchema,
  version_id: z.number().int(),
  inputs: bucket,
  expected_outputs: bucket,
  metadata: bucket,
  extras: bucket,
  source: z.object({
    kind: z.enum(['api', 'rule', 'add_trace']),
    application_id: uuidSchema,
    trace_id: z.string(),
    span_id: z.string(),
    span_start_time: rfc3339,
    rule_id: z.string().optional(),
  }),
  annotation: z.string().nullable(),
  annotation_status: z.enum(['empty', 'filled']),
  feedback_category: z.string().nullable(),
  expected_output: z.string().nullable(),
  priority: z.enum(['high', 'medium', 'low']).nullable(),
  labels: z.array(z.string()),
  redacted_fields: z.array(z.string()),
  created_at: rfc3339,
  updated_at: rfc3339,
})

export const listItemsQuery = z.strictObject({
  annotation_status: z.enum(['empty', 'filled']).optional(),
  feedback_category: z.string().min(1).max(200).optional(),
  priority: z.enum(['high', 'medium', 'low']).optional(),
  rule_id: z.string().min(1).max(200).optional(),
  created_from: rfc3339Query.optional().meta({ description: 'Rows added at or after (RFC 3339).' }),
  created_to: rfc3339Query.optional().meta({ description: 'Rows added before (RFC 3339).' }),
  version: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .meta({ description: 'Version number; default: the current version.' }),
  ...pageQuery(ITEM_CURSOR_PATTERN),
})

export const listItemsResponse = z.object({
  items: z.array(datasetItemSchema),
  next_cursor: nextCursorSchema,
})

export const listDatasetsResponse = z.object({
  datasets: z.array(datasetSchema),
  next_cursor: nextCursorSchema,
})

export const patchItemBody = z
  .strictObject({
    annotation: z.string().max(100_000).nullable().optional(),
    annotation_status: z.enum(['empty', 'filled']).optional(),
    feedback_category: z.string().max(MAX_FEEDBACK_CATEGORY_LENGTH).nullable().optional().meta({
      description:
        "One of the dataset's feedback_categories when it has any (else 400 invalid_argument naming them); null always.",
    }),
    expected_output: z.string().max(1_000_000).nullable().optional(),
    priority: z.enum(['high', 'medium', 'low']).nullable().optional(),
    labels: z.array(z.string().min(1).max(200)).max(100).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'name at least one field to change' })
  // The refinement above, in the document: a PATCH of `{}` is refused by the schema too.
  .meta({ minProperties: 1 })

export const exportQuery = z.strictObject({
  format: z.enum(['jsonl', 'csv', 'parquet', 'chat-jsonl']),
  version: z.coerce.number().int().positive().optional(),
  strict: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .meta({
      description: 'chat-jsonl: refuse the export (422 unconvertible_rows) when a row cannot be converted',
    }),
})

export const spanRefSchema = z.strictObject({ trace_id: traceIdSchema, span_id: spanIdSchema })

export const fromSpansBody = z.strictObject({
  application_id: uuidSchema,
  start_time: rfc3339.meta({ description: 'Start of the time range (inclusive, UTC).' }),
  end_time: rfc3339.meta({
    description: `End of the time range (exclusive, UTC); at most ${MAX_LOOKUP_RANGE_DAYS} days after start_time.`,
  }),
  spans: z.array(spanRefSchema).min(1).max(200),
  mapping: mappingSchema,
})

const refJson = z.object({ trace_id: z.string(), span_id: z.string() })

export const fromSpansResponse = z.object({
  api_version: z.literal('3.0'),
  kind: z.literal('NORMAL'),
  data: z.object({
    items: z.array(z.object({ trace_id: z.string(), span_id: z.string(), item_id: uuidSchema })),
    not_found: z
      .array(refJson)
      .meta({ description: 'Refs that match no span of the application in the range.' }),
    excluded: z.number().int().meta({ description: 'Candidates left out by the leakage guard.' }),
    excluded_spans: z.array(refJson),
    added: z.number().int().meta({ description: 'Rows new to the dataset (the rest were already there).' }),
    warnings: z.array(z.string()),
  }),
})

export const addTraceBody = z.strictObject({
  dataset_group_id: z.number().int().min(1),
  trace_id: z.string().min(1),
  span_id: z.string().min(1).nullable().optional(),
})

export const addTraceResponse = z.object({
  success: z.literal(true),
  draft_dataset_id: z.number().int(),
  mode: z.enum(['trace', 'span']),
  warnings: z.array(z.string()).meta({
    description: 'What the row lacks (no input or output messages in the trace), and leakage-guard notes.',
  }),
})

export const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
})
