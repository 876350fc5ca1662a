import { type DatasetDeclaration, parseRuleFileDetailed, type RuleFileError } from './rule-file.ts'
import type { Rule } from './rule-schema.ts'

/**
 * Parses every rule file of a set and checks what no single file can: a rule id is
 * unique across all of them (the first file, in the order given, keeps it), and so is
 * a declared dataset (an application's dataset name). Pure; the caller reads the files
 * (in a stable order, so "first" means the same every time).
 */
export function buildRuleSet(files: ReadonlyArray<{ file: string; text: string }>): {
  rules: Rule[]
  datasets: DatasetDeclaration[]
  errors: RuleFileError[]
} {
  const rules: Rule[] = []
  const datasets: DatasetDeclaration[] = []
  const errors: RuleFileError[] = []
  const firstSeen = new Map<string, { file: string; line: number }>()
  const declaredAt = new Map<string, DatasetDeclaration['origin']>()
  for (const { file, text } of files) {
    const parsed = parseRuleFileDetailed(file, text)
    const fileErrors = [...parsed.errors]
    parsed.datasets.forEach((declaration) => {
      const key = `${declaration.application}\0${declaration.name}`
      const first = declaredAt.get(key)
      if (first && first.file !== file) {
        fileErrors.push({
          ...declaration.origin,
          message: `dataset "${declaration.name}" of application "${declaration.application}" is already declared at ${first.file}:${first.line}`,
        })
        return
      }
      declaredAt.set(key, declaration.origin)
      datasets.push(declaration)
    })
    for (const { rule, index, idLine, idColumn } of parsed.rules) {
      const first = firstSeen.get(rule.id)
      if (first) {
        fileErrors.push({
          file,
          line: idLine,
          column: idColumn,
          yamlPath: `rules[${index}].id`,
          message: `duplicate rule id "${rule.id}": also defined at ${first.file}:${first.line}`,
        })
        continue
      }
      firstSeen.set(rule.id, { file, line: idLine })
      rules.push(rule)
    }
    errors.push(...fileErrors.sort((a, b) => a.line - b.line || a.column - b.column))
  }
  return { rules, datasets, errors }
}
