/**
 * A comma-separated list of feedback categories as typed: trimmed, empties and repeats
 * dropped (the API refuses repeats; a typo of ", ," should not be an error).
 */
export function parseCategories(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    ),
  ]
}
