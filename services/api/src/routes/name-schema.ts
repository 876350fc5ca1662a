import { isUuidRef } from '@spansift/core/rules/rule-schema'
import { z } from 'zod'

/**
 * The name of an application or a dataset: usable wherever an id is (rule files, the
 * CLI), so it must not look like a UUID, which always means an id.
 */
export const nameSchema = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .refine((name) => !isUuidRef(name), { message: 'a name must not look like a UUID (a UUID is an id)' })
