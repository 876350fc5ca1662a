import { loadRuleFiles } from '@spansift/application/rule-files'
import { formatRuleFileError } from '@spansift/core/rules/rule-file'
import { apiClientFor } from './api-client.ts'
import {
  API_OPTIONS,
  API_OPTIONS_HELP,
  type Command,
  createCommandGroup,
  parseCommandArgs,
  printHelp,
} from './command.ts'
import { applyPlan, formatPlan, planJson, planRules, printPlanErrors } from './rules-plan.ts'
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

usage: spansift rules validate [dir] [--server] [options]

Reads the *.yaml and *.yml files directly in dir (default $SPANSIFT_RULES_DIR, else
./rules; subdirectories such as examples/ are not read) and checks them as the rule
worker loads them. Prints each problem on its own line as
  file:line:column: yaml.path: what is wrong
and exits 1 when there is any, else prints how many rules are valid and exits 0.

With --server, also looks every application and dataset (name or id) up in a running
spansift through its API: an unknown one is a problem, and so is a declared dataset
stored with another kind or exclusion. A declared dataset not created yet is fine
(spansift rules apply creates it).

options:
  --server        resolve names and ids against a running spansift
  --json          print {"valid", "rules", "files", "errors"} as JSON instead (with
                  --server, also "targets" and "datasets": what each name resolved to)
  --api-url URL   with --server: the spansift API (default http://127.0.0.1:$SPANSIFT_API_PORT)
  --key KEY       with --server: the API key (default $SPANSIFT_ADMIN_KEY)
  -h, --help      show this help`,
    async run(args, context) {
      const parsed = parseCommandArgs(
        'rules validate',
        args,
        { ...API_OPTIONS, server: { type: 'boolean' } },
        [],
        ['[dir]'],
      )
      if (parsed.help) return printHelp(context, command)
      const dir = parsed.positionals[0] ?? options.defaultRulesDir()
      const { stdout, stderr } = context.io
      if (parsed.values.server) {
        const plan = await planRules(dir, apiClientFor('rules validate', parsed.values, context))
        if (parsed.values.json) {
          // The offline shape, plus what each rule and declared dataset resolved to.
          const { valid, errors, datasets, rules } = planJson(plan)
          const body = { valid, rules: rules.length, files: plan.files, errors, targets: rules, datasets }
          stdout.write(`${JSON.stringify(body)}\n`)
          return plan.errors.length === 0 ? 0 : 1
        }
        if (plan.errors.length > 0) {
          printPlanErrors(plan, context.io)
          stderr.write(`spansift: ${plural(plan.errors.length, 'problem')}\n`)
          return 1
        }
        stdout.write(
          `${plural(plan.rules.length, 'rule')} in ${plural(plan.files.length, 'file')} ${plan.rules.length === 1 ? 'is' : 'are'} valid; every name resolves\n`,
        )
        return 0
      }
      if (parsed.values['api-url'] !== undefined || parsed.values.key !== undefined) {
        stderr.write('spansift: --api-url and --key are used with --server only\n')
      }
      const { rules, errors, files } = await loadRuleFiles(dir)
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
      // Names (and ids) exist or not only in a running spansift: say so when a rule uses one.
      const named = rules.some((r) => r.applicationId === '' || r.datasetId === '')
      stdout.write(
        `${plural(rules.length, 'rule')} in ${plural(files.length, 'file')} ${rules.length === 1 ? 'is' : 'are'} valid${named ? '; names are checked against a running spansift with --server' : ''}\n`,
      )
      return 0
    },
  }
  return command
}

const PLAN_OPTIONS_HELP = `${API_OPTIONS_HELP}`

function planCommand(options: RulesCommandOptions): Command {
  const command: Command = {
    summary: 'show what rules apply would create, and where each rule appends',
    help: `spansift rules plan — what the rule files mean against a running spansift

usage: spansift rules plan [dir] [options]

Reads the rule files of dir (default $SPANSIFT_RULES_DIR, else ./rules), looks every
application and dataset (name or id) up through the API, and prints the datasets the
files declare that rules apply would create, those already there, and the dataset each
rule appends to. Writes nothing. A declared dataset stored with another kind or
exclusion, or a name that resolves to nothing, is a problem (file:line) and exit 1.

options:
${PLAN_OPTIONS_HELP}`,
    async run(args, context) {
      const parsed = parseCommandArgs('rules plan', args, API_OPTIONS, [], ['[dir]'])
      if (parsed.help) return printHelp(context, command)
      const dir = parsed.positionals[0] ?? options.defaultRulesDir()
      const plan = await planRules(dir, apiClientFor('rules plan', parsed.values, context))
      if (parsed.values.json) {
        context.io.stdout.write(`${JSON.stringify(planJson(plan))}\n`)
        return plan.errors.length === 0 ? 0 : 1
      }
      printPlanErrors(plan, context.io)
      if (plan.errors.length === 0 || plan.datasets.length + plan.rules.length > 0) {
        context.io.stdout.write(`${formatPlan(plan)}\n`)
      }
      return plan.errors.length === 0 ? 0 : 1
    },
  }
  return command
}

function applyCommand(options: RulesCommandOptions): Command {
  const command: Command = {
    summary: 'create the datasets the rule files declare (never changes or deletes)',
    help: `spansift rules apply — create the datasets the rule files declare

usage: spansift rules apply [dir] [options]

Plans like spansift rules plan, then creates the declared datasets that are missing
(eval datasets before the training datasets that exclude them). Applies nothing when
the plan has a problem. Never changes or deletes a dataset. The rule workers pick the
new datasets up when they next resolve their rules' names; they never create datasets
themselves.

options:
${PLAN_OPTIONS_HELP}`,
    async run(args, context) {
      const parsed = parseCommandArgs('rules apply', args, API_OPTIONS, [], ['[dir]'])
      if (parsed.help) return printHelp(context, command)
      const dir = parsed.positionals[0] ?? options.defaultRulesDir()
      const client = apiClientFor('rules apply', parsed.values, context)
      const plan = await planRules(dir, client)
      if (plan.errors.length > 0) {
        printPlanErrors(plan, context.io)
        context.io.stderr.write('spansift: the plan has problems; nothing was applied\n')
        return 1
      }
      const created: Array<{ name: string; application: string; id: string }> = []
      await applyPlan(plan, client, (declaration, id) => {
        created.push({ name: declaration.name, application: declaration.application, id })
        if (!parsed.values.json) {
          context.io.stdout.write(
            `created dataset ${declaration.name} in ${declaration.application}: ${id}\n`,
          )
        }
      })
      if (parsed.values.json) context.io.stdout.write(`${JSON.stringify({ created })}\n`)
      else context.io.stdout.write(`applied: ${plural(created.length, 'dataset')} created\n`)
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
    plan: planCommand(options),
    apply: applyCommand(options),
    list: rulesList,
    test: rulesTest,
    backfill: rulesBackfill,
  }
}

/** `spansift rules …`. */
export function createRulesCommand(options: RulesCommandOptions): Command {
  return createCommandGroup(
    'rules',
    'check rule files, plan and apply their datasets, list the rules in force, dry-run and backfill them',
    rulesSubcommands(options),
  )
}
