import { loadRuleFiles } from '@spansift/application/rule-files'
import { formatRuleFileError } from '@spansift/core/rules/rule-file'
import { type Command, createCommandGroup, parseCommandArgs, printHelp } from './command.ts'
import { rulesBackfill, rulesList, rulesTest } from './rules-remote.ts'

/** What the rules commands need from main: configuration, resolved only when a command uses it. */
export interface RulesCommandOptions {
  /** The rules directory when none is given: SPANSIFT_RULES_DIR, else ./rules. */
  defaultRulesDir(): string
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

function validateCommand(options: RulesCommandOptions): Command {
  const command: Command = {
    summary: 'check rule files: YAML, schema, predicates, duplicate ids',
    help: `spansift rules validate — check the rule files of a directory

usage: spansift rules validate [dir] [options]

Reads the *.yaml and *.yml files directly in dir (default $SPANSIFT_RULES_DIR, else
./rules; subdirectories such as examples/ are not read) and checks them as the rule
worker loads them. Prints each problem on its own line as
  file:line:column: yaml.path: what is wrong
and exits 1 when there is any, else prints how many rules are valid and exits 0.

options:
  --json      print {"valid", "rules", "files", "errors"} as JSON instead
  -h, --help  show this help`,
    async run(args, context) {
      // The one optional positional: everything not an option is the directory.
      const positionals = args.some((a) => !a.startsWith('-')) ? ['[dir]'] : []
      const parsed = parseCommandArgs(
        'rules validate',
        args,
        { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
        positionals,
      )
      if (parsed.help) return printHelp(context, command)
      const dir = parsed.positionals[0] ?? options.defaultRulesDir()
      const { rules, errors, files } = await loadRuleFiles(dir)
      const { stdout, stderr } = context.io
      if (parsed.values.json) {
        const body = {
          valid: errors.length === 0,
          rules: rules.length,
          files,
          errors: errors.map((e) => ({ ...e, text: formatRuleFileError(e) })),
        }
        stdout.write(`${JSON.stringify(body)}\n`)
        return errors.length === 0 ? 0 : 1
      }
      if (errors.length > 0) {
        for (const error of errors) stderr.write(`${formatRuleFileError(error)}\n`)
        const failing = new Set(errors.map((e) => e.file)).size
        stderr.write(
          `spansift: ${plural(errors.length, 'problem')} in ${failing} of ${plural(files.length, 'file')}\n`,
        )
        return 1
      }
      if (files.length === 0) stderr.write(`spansift: no rule files (*.yaml, *.yml) in ${dir}\n`)
      stdout.write(
        `${plural(rules.length, 'rule')} in ${plural(files.length, 'file')} ${rules.length === 1 ? 'is' : 'are'} valid\n`,
      )
      return 0
    },
  }
  return command
}

/**
 * The `rules` subcommands, as a table: adding one is one entry. They take what they
 * need from main through `options`.
 */
export function rulesSubcommands(options: RulesCommandOptions): Record<string, Command> {
  return {
    validate: validateCommand(options),
    list: rulesList,
    test: rulesTest,
    backfill: rulesBackfill,
  }
}

/** `spansift rules …`. */
export function createRulesCommand(options: RulesCommandOptions): Command {
  return createCommandGroup(
    'rules',
    'check rule files, list the rules in force, dry-run and backfill them',
    rulesSubcommands(options),
  )
}
