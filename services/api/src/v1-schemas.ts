import { KEY_SCOPES } from '@spansift/core/key-scope'
import { z } from 'zod'
import { uuidSchema } from './routes/dataset-schemas.ts'

/**
 * The zod schemas of the routes app.ts registers itself (principal, keys, traces): the
 * routes validate with them and /openapi.json is generated from them.
 */

const rfc3339 = z.string().meta({ format: 'date-time' })
const attributes = z.record(z.string(), z.unknown())

export const principalResponse = z.object({
  kind: z.enum(['admin', 'application']),
  application_id: uuidSchema.nullable().meta({ description: 'null for the admin key' }),
  key_id: z.uuid().optional().meta({ description: 'An application key’s id.' }),
  scope: z.enum(KEY_SCOPES).optional().meta({ description: 'An application key’s scope.' }),
})

export const traceQuery = z.strictObject({
  application_id: uuidSchema
    .optional()
    .meta({ description: 'Required with the admin key; an application key reads its own.' }),
  start_time: rfc3339.meta({ description: 'Start of the span start-time range (inclusive, UTC).' }),
  end_time: rfc3339.meta({
    description: 'End of the range (exclusive, UTC); at most 93 days after start_time.',
  }),
})

/** A span as the API shows it (core/span-json.ts). */
export const spanSchema = z.object({
  application_id: uuidSchema,
  trace_id: z.string(),
  span_id: z.string(),
  parent_span_id: z.string().nullable(),
  trace_state: z.string(),
  name: z.string(),
  kind: z.enum(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']),
  start_time: rfc3339,
  end_time: rfc3339,
  duration_ns: z.string().meta({ description: 'Nanoseconds as a decimal string (overflows a JSON number).' }),
  status: z.object({ code: z.enum(['unset', 'ok', 'error']), message: z.string() }),
  service_name: z.string(),
  scope: z.object({ name: z.string(), version: z.string() }),
  resource_attributes: attributes,
  attributes,
  events: z.array(z.object({ time: rfc3339, name: z.string(), attributes })),
  links: z.array(
    z.object({ trace_id: z.string(), span_id: z.string(), trace_state: z.string(), attributes }),
  ),
})

export const traceResponse = z.object({ spans: z.array(spanSchema) })
