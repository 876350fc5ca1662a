import { apiClientFor } from './api-client.ts'
import {
  API_OPTIONS,
  API_OPTIONS_HELP,
  type CliIo,
  type Command,
  formatTable,
  parseCommandArgs,
  printHelp,
  UsageError,
} from './command.ts'

// The rules commands that act on a running spansift: they call its API, because the
// rules in force, the stored spans and (embedded) the storage belong to that process.

interface RuleJson {
  id: string
  application_id: string | null
  dataset_id: string | null
  /** The dataset as the rule file names it. */
  dataset: string
  state: string
  error: string | null
  matched: number
  appended: number
  stored_rows: number
  file: string
  line: number
}

interface BackfillJson {
  backfill_id: string
  state: 'running' | 'done' | 'failed'
  partitions_total: number
  partitions_done: number
  current_partition: number | null
  progress: { done: number; total: number }
  scanned: number
  matched: number
  added: number
  already_present: number
  dropped_for_cap: number
  dataset_full: boolean
  error: string | null
}

const RANGE_OPTIONS = {
  ...API_OPTIONS,
  from: { type: 'string' },
  to: { type: 'string' },
} as const

const RANGE_HELP = `  --from TIME     start of the range (RFC 3339, UTC), required
  --to TIME       end of the range (exclusive), required`

/** The one positional (the rule id) and the required range, or a usage error. */
function ruleAndRange(
  command: string,
  parsed: { positionals: string[]; values: { from?: string; to?: string } },
) {
  const { from, to } = parsed.values
  if (!from || !to) throw new UsageError('--from and --to are required (RFC 3339 times)', command)
  return { ruleId: parsed.positionals[0]!, body: { start_time: from, end_time: to } }
}

export const rulesList: Command = {
  summary: 'list the rules in force: state, matches, rows',
  help: `spansift rules list — the rules a running spansift has loaded

usage: spansift rules list [options]

options:
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs('rules list', args, API_OPTIONS, [])
    if (parsed.help) return printHelp(context, rulesList)
    const client = apiClientFor('rules list', parsed.values, context)
    const body = await client.json<{ rules: RuleJson[]; reload: { ok: boolean; errors?: string[] } }>(
      'GET',
      '/v1/rules',
    )
    const { stdout, stderr } = context.io
    if (parsed.values.json) {
      stdout.write(`${JSON.stringify(body)}\n`)
      return 0
    }
    if (!body.reload.ok) {
      stderr.write('spansift: the rule files have errors; the last good rules stay in force:\n')
      for (const error of body.reload.errors ?? []) stderr.write(`  ${error}\n`)
    }
    if (body.rules.length === 0) stdout.write('no rules\n')
    else {
      const rows = body.rules.map((r) => [
        r.id,
        r.error ? `${r.state}: ${r.error}` : r.state,
        String(r.matched),
        String(r.stored_rows),
        r.dataset === r.dataset_id || !r.dataset_id ? r.dataset : `${r.dataset} (${r.dataset_id})`,
      ])
      stdout.write(`${formatTable(['RULE', 'STATE', 'MATCHED', 'ROWS', 'DATASET'], rows)}\n`)
    }
    return 0
  },
}

export const rulesTest: Command = {
  summary: 'dry run: how many stored spans a rule matches, and sample rows',
  help: `spansift rules test — what a rule would take from stored spans, writing nothing

usage: spansift rules test <rule> --from TIME --to TIME [--limit N] [options]

Counts the stored spans in [from, to) the rule matches (its application, errors,
sampling and predicate) and prints a few of them mapped (and redacted) as rows.

options:
${RANGE_HELP}
  --limit N       sample rows to print (default 5, at most 50)
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs('rules test', args, { ...RANGE_OPTIONS, limit: { type: 'string' } }, [
      '<rule>',
    ])
    if (parsed.help) return printHelp(context, rulesTest)
    const { ruleId, body } = ruleAndRange('rules test', parsed)
    const limit = parsed.values.limit === undefined ? 5 : Number(parsed.values.limit)
    if (!Number.isInteger(limit) || limit < 0 || limit > 50)
      throw new UsageError(
        `--limit must be a whole number from 0 to 50, got "${parsed.values.limit}"`,
        'rules test',
      )
    const client = apiClientFor('rules test', parsed.values, context)
    const result = await client.json<{ matched: number; partitions: number; samples: unknown[] }>(
      'POST',
      `/v1/rules/${encodeURIComponent(ruleId)}/test`,
      { ...body, limit },
    )
    const { stdout } = context.io
    if (parsed.values.json) {
      stdout.write(`${JSON.stringify(result)}\n`)
      return 0
    }
    stdout.write(
      `${ruleId}: ${result.matched} matching spans in ${result.partitions} month partition${result.partitions === 1 ? '' : 's'}; nothing was written\n`,
    )
    for (const sample of result.samples) stdout.write(`${JSON.stringify(sample)}\n`)
    return 0
  },
}

/**
 * Shows a backfill's progress: on a terminal, redrawn on one line; otherwise (a log, a
 * script) one line per month partition finished, so progress is visible partition by
 * partition without control characters. Returns the partitions reported so far.
 */
function showProgress(stderr: CliIo['stderr'], job: BackfillJson, reported: number): number {
  if (!stderr.isTTY) {
    for (let done = reported + 1; done <= job.partitions_done; done++) {
      stderr.write(
        `spansift: partition ${done}/${job.partitions_total} done: ${job.progress.done}/${job.progress.total} spans read, ${job.added} rows added\n`,
      )
    }
    return Math.max(reported, job.partitions_done)
  }
  drawProgress(stderr, job)
  return job.partitions_done
}

/** Draws a backfill's progress on one terminal line. */
function drawProgress(stderr: CliIo['stderr'], job: BackfillJson): void {
  const { done, total } = job.progress
  const width = 30
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0
  const partition = job.current_partition === null ? '' : ` month ${job.current_partition}`
  stderr.write(
    `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} spans, partition ${job.partitions_done}/${job.partitions_total}${partition}, ${job.added} rows added `,
  )
}

export const rulesBackfill: Command = {
  summary: 'apply a rule to stored history, month by month (resumable)',
  help: `spansift rules backfill — apply a rule to the spans stored in a time range

usage: spansift rules backfill <rule> --from TIME --to TIME [options]

Runs in the spansift server, month partition by month partition, oldest first, and
appends what the rule matches to its dataset (filling it up to its cap). Shows its
progress until it ends: a bar on a terminal, else a line per month partition done. Resumable: the same rule and range again skips the months
already done, and a span appended before is never appended twice.

options:
${RANGE_HELP}
  --detach        start it and print its id without waiting
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      'rules backfill',
      args,
      { ...RANGE_OPTIONS, detach: { type: 'boolean' } },
      ['<rule>'],
    )
    if (parsed.help) return printHelp(context, rulesBackfill)
    const { ruleId, body } = ruleAndRange('rules backfill', parsed)
    const client = apiClientFor('rules backfill', parsed.values, context)
    const { stdout, stderr } = context.io
    let job = await client.json<BackfillJson>(
      'POST',
      `/v1/rules/${encodeURIComponent(ruleId)}/backfill`,
      body,
    )
    if (!parsed.values.detach) {
      // Bounded: a backfill of a year of history on one machine ends well within 24 h.
      const deadline = Date.now() + 24 * 3_600_000
      let reported = 0
      while (job.state === 'running' && Date.now() < deadline) {
        reported = showProgress(stderr, job, reported)
        await new Promise((r) => setTimeout(r, 500))
        job = await client.json<BackfillJson>('GET', `/v1/rules/backfills/${job.backfill_id}`)
      }
      showProgress(stderr, job, reported)
      if (stderr.isTTY) stderr.write('\n')
    }
    if (parsed.values.json) stdout.write(`${JSON.stringify(job)}\n`)
    else if (job.state === 'running') stdout.write(`backfill ${job.backfill_id} is running\n`)
    else if (job.state === 'failed') {
      stderr.write(`spansift: backfill ${job.backfill_id} failed: ${job.error}; run it again to resume\n`)
    } else {
      stdout.write(
        `backfill ${job.backfill_id} done: ${job.partitions_done} month partitions, ${job.matched} spans matched, ${job.added} rows added, ${job.already_present} already there${job.dataset_full ? `, ${job.dropped_for_cap} left out: the dataset is full` : ''}\n`,
      )
    }
    return job.state === 'failed' ? 1 : 0
  },
}
