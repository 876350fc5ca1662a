import { isUuidRef } from '@spansift/core/rules/rule-schema'
import { z } from 'zod'

/**
 * The name of an application or a dataset: usable wherever an id is (rule files, the
 * CLI), so it must not look like a UUID, which always means an id. The length and the
 * non-blank check apply to the text as sent (as /openapi.json states them: maxLength,
 * pattern), then surrounding whitespace is trimmed.
 */
export const nameSchema = z
  .string()
  .max(200)
  .regex(/\S/, { message: 'a name must not be blank' })
  .trim()
  .refine((name) => !isUuidRef(name), { message: 'a name must not look like a UUID (a UUID is an id)' })
