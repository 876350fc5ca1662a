import type { Dirent } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { DatasetDeclaration, RuleFileError } from '@spansift/core/rules/rule-file'
import type { Rule } from '@spansift/core/rules/rule-schema'
import { buildRuleSet } from '@spansift/core/rules/rule-set'

/** The rules directory cannot be read at all (missing, not a directory, no permission). */
export class RulesDirectoryError extends Error {
  readonly dir: string
  constructor(dir: string, reason: string) {
    super(`rules directory ${dir}: ${reason}`)
    this.name = 'RulesDirectoryError'
    this.dir = dir
  }
}

/** True for a name loadRuleFiles reads: `*.yaml` or `*.yml`, not hidden (editor lock and swap files are). */
export function isRuleFileName(name: string): boolean {
  return !name.startsWith('.') && (name.endsWith('.yaml') || name.endsWith('.yml'))
}

/**
 * The rule files of a directory, sorted: `*.yaml` and `*.yml` files directly in it
 * (subdirectories such as `examples/` are not read). Paths are `join(dir, name)`.
 */
export async function listRuleFiles(dir: string): Promise<string[]> {
  let entries: Dirent[]
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const reason =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'ENOTDIR'
          ? 'is not a directory'
          : (error as Error).message
    throw new RulesDirectoryError(dir, reason)
  }
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && isRuleFileName(e.name))
    .map((e) => e.name)
    .sort()
    .map((name) => join(dir, name))
}

/**
 * Reads and validates the rule files of a directory (the fs side of buildRuleSet).
 * Throws RulesDirectoryError when the directory cannot be read; a file's problems are
 * `errors`, each naming its file, line and YAML path.
 */
export async function loadRuleFiles(
  dir: string,
): Promise<{ rules: Rule[]; datasets: DatasetDeclaration[]; errors: RuleFileError[]; files: string[] }> {
  const files = await listRuleFiles(dir)
  const texts: { file: string; text: string }[] = []
  const unreadable: RuleFileError[] = []
  for (const file of files) {
    try {
      texts.push({ file, text: await readFile(file, 'utf8') })
    } catch (error) {
      // a dangling symlink, a directory named x.yaml: that file's problem, not the directory's
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
      unreadable.push({ file, line: 0, column: 0, yamlPath: '', message: `cannot read the file (${reason})` })
    }
  }
  const set = buildRuleSet(texts)
  return { rules: set.rules, datasets: set.datasets, errors: [...unreadable, ...set.errors], files }
}
