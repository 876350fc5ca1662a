/**
 * Walking a path's steps into an attribute value, the one meaning mapping paths, JS
 * predicates and (in compile-sql.ts) SQL predicates share: an object step is a key, a
 * decimal step on an array is an index, and a string holding a JSON object or array (its
 * first character `{` or `[`) is walked as the JSON it holds, so
 * `gen_ai.input.messages.1.parts.0.content` reaches into the messages an instrumentation
 * recorded as JSON text.
 */
import { isExactInteger } from './exact-integer.ts'
import type { AttributeValue } from './span-model.ts'

/** A string's JSON object or array, parsed; undefined when it holds none. */
export function jsonInText(text: string): AttributeValue | undefined {
  const first = text.charCodeAt(0)
  if (first !== 0x5b && first !== 0x7b) return undefined // '[' or '{'
  try {
    return JSON.parse(text) as AttributeValue
  } catch {
    return undefined
  }
}

/** One step into a value; undefined when the step leads nowhere. */
export function walkStep(
  value: AttributeValue | undefined,
  step: string,
  index: number,
): AttributeValue | undefined {
  let current = value
  if (typeof current === 'string') current = jsonInText(current)
  if (current === null || current === undefined || typeof current !== 'object' || isExactInteger(current))
    return undefined
  if (Array.isArray(current)) return index < 0 ? undefined : current[index]
  return Object.hasOwn(current, step) ? current[step] : undefined
}

/** The array index a step means, -1 when it is not a decimal number. */
export function stepIndex(step: string): number {
  return /^\d+$/.test(step) ? Number(step) : -1
}

/** Walks all steps. */
export function walkValue(value: AttributeValue, steps: readonly string[]): AttributeValue | undefined {
  let current: AttributeValue | undefined = value
  for (const step of steps) {
    current = walkStep(current, step, stepIndex(step))
    if (current === undefined) return undefined
  }
  return current
}
