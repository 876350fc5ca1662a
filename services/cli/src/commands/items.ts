import { userInfo } from 'node:os'
import { apiClientFor } from './api-client.ts'
import { resolveDatasetRef } from './api-refs.ts'
import {
  API_OPTIONS,
  API_OPTIONS_HELP,
  type Command,
  createCommandGroup,
  formatTable,
  parseCommandArgs,
  printHelp,
  UsageError,
} from './command.ts'

/** A dataset row as the API answers it (the fields the CLI shows). */
export interface ItemJson {
  item_id: string
  inputs: Record<string, unknown>
  expected_outputs: Record<string, unknown>
  annotation: string | null
  annotation_status: 'empty' | 'filled'
  feedback_category: string | null
  expected_output: string | null
  priority: 'high' | 'medium' | 'low' | null
  labels: string[]
  source: { trace_id: string; span_id: string; rule_id?: string }
  created_at: string
}

const DATASET_OPTION_HELP = `  --application A   the dataset's application (id or name), when <dataset> is a name
                    several applications use`

const clip = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text)

/** One row as lines of text: its fields, then its inputs and expected outputs. */
export function describeItem(item: ItemJson): string {
  const fields: [string, string][] = [
    ['item', item.item_id],
    ['status', item.annotation_status],
    ['priority', item.priority ?? '-'],
    ['feedback', item.feedback_category ?? '-'],
    ['labels', item.labels.join(', ') || '-'],
    ['trace', `${item.source.trace_id} span ${item.source.span_id}`],
    ['rule', item.source.rule_id ?? '-'],
    ['created', item.created_at],
    ['annotation', item.annotation ?? '-'],
    ['expected', item.expected_output ?? '-'],
  ]
  const width = Math.max(...fields.map(([name]) => name.length)) + 2
  const buckets = (['inputs', 'expected_outputs'] as const).flatMap((bucket) =>
    Object.entries(item[bucket]).map(([key, value]) => `  ${bucket}.${key}: ${JSON.stringify(value)}`),
  )
  return [...fields.map(([name, value]) => `${name.padEnd(width)}${value}`), ...buckets].join('\n')
}

const list: Command = {
  summary: "list a dataset's rows, filtered, a page at a time",
  help: `spansift items list — list a dataset's rows (the review queue's view)

usage: spansift items list <dataset> [--status empty|filled] [--limit N] [--cursor C] [options]

<dataset> is an id or a name. Prints a page of rows (oldest first) and, when there are
more, the command line for the next page. With --json, the API's page as it answers it.

options:
  --status S        only rows whose annotation_status is empty or filled
  --priority P      only rows of priority high, medium or low
  --rule R          only rows a rule appended
  --limit N         rows per page, 1 to 1000 (default 50)
  --cursor C        the page after the one that printed this cursor
${DATASET_OPTION_HELP}
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      'items list',
      args,
      {
        ...API_OPTIONS,
        application: { type: 'string' },
        status: { type: 'string' },
        priority: { type: 'string' },
        rule: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
      },
      ['<dataset>'],
    )
    if (parsed.help) return printHelp(context, list)
    const { status, priority, rule, limit, cursor } = parsed.values
    if (status !== undefined && status !== 'empty' && status !== 'filled') {
      throw new UsageError(`--status must be empty or filled, got "${status}"`, 'items list')
    }
    if (priority !== undefined && !['high', 'medium', 'low'].includes(priority)) {
      throw new UsageError(`--priority must be high, medium or low, got "${priority}"`, 'items list')
    }
    if (limit !== undefined && !/^[1-9]\d{0,3}$/.test(limit)) {
      throw new UsageError(`--limit must be a whole number from 1 to 1000, got "${limit}"`, 'items list')
    }
    const client = apiClientFor('items list', parsed.values, context)
    const datasetId = await resolveDatasetRef(client, parsed.positionals[0]!, parsed.values.application)
    const query = new URLSearchParams({ limit: limit ?? '50' })
    if (status) query.set('annotation_status', status)
    if (priority) query.set('priority', priority)
    if (rule) query.set('rule_id', rule)
    if (cursor) query.set('cursor', cursor)
    const page = await client.json<{ items: ItemJson[]; next_cursor: string | null }>(
      'GET',
      `/v1/datasets/${datasetId}/items?${query}`,
    )
    const { stdout, stderr } = context.io
    if (parsed.values.json) {
      stdout.write(`${JSON.stringify(page)}\n`)
      return 0
    }
    if (page.items.length === 0) stdout.write('no rows\n')
    else {
      const rows = page.items.map((item) => [
        item.item_id,
        item.annotation_status,
        item.priority ?? '-',
        item.created_at,
        clip(JSON.stringify(item.inputs), 60),
      ])
      stdout.write(`${formatTable(['ITEM', 'STATUS', 'PRIORITY', 'CREATED', 'INPUTS'], rows)}\n`)
    }
    if (page.next_cursor) {
      stderr.write(`spansift: more rows: spansift items list ${datasetId} --cursor ${page.next_cursor}\n`)
    }
    return 0
  },
}

const annotate: Command = {
  summary: 'annotate a row: annotation, status, feedback, expected output, priority, labels',
  help: `spansift items annotate — annotate a row of a dataset

usage: spansift items annotate <dataset> <item> [fields] [options]

Changes only the fields given (at least one); the row moves to the draft version.
A row given an --annotation or --expected-output is marked filled unless --status says
otherwise.

fields:
  --annotation TEXT        the reviewer's note
  --expected-output TEXT   the answer the row should have had
  --status S               empty or filled
  --feedback-category C    e.g. negative_feedback
  --priority P             high, medium or low
  --label L                a label (repeatable; replaces the row's labels)
${DATASET_OPTION_HELP}
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      'items annotate',
      args,
      {
        ...API_OPTIONS,
        application: { type: 'string' },
        annotation: { type: 'string' },
        'expected-output': { type: 'string' },
        status: { type: 'string' },
        'feedback-category': { type: 'string' },
        priority: { type: 'string' },
        label: { type: 'string', multiple: true },
      },
      ['<dataset>', '<item>'],
    )
    if (parsed.help) return printHelp(context, annotate)
    const v = parsed.values
    if (v.status !== undefined && v.status !== 'empty' && v.status !== 'filled') {
      throw new UsageError(`--status must be empty or filled, got "${v.status}"`, 'items annotate')
    }
    if (v.priority !== undefined && !['high', 'medium', 'low'].includes(v.priority)) {
      throw new UsageError(`--priority must be high, medium or low, got "${v.priority}"`, 'items annotate')
    }
    const patch: Record<string, unknown> = {}
    if (v.annotation !== undefined) patch.annotation = v.annotation
    if (v['expected-output'] !== undefined) patch.expected_output = v['expected-output']
    if (v['feedback-category'] !== undefined) patch.feedback_category = v['feedback-category']
    if (v.priority !== undefined) patch.priority = v.priority
    if (v.label !== undefined) patch.labels = v.label
    const status =
      v.status ??
      (patch.annotation !== undefined || patch.expected_output !== undefined ? 'filled' : undefined)
    if (status !== undefined) patch.annotation_status = status
    if (Object.keys(patch).length === 0) {
      throw new UsageError('name at least one field to change', 'items annotate')
    }
    const client = apiClientFor('items annotate', v, context)
    const datasetId = await resolveDatasetRef(client, parsed.positionals[0]!, v.application)
    const item = await client.json<ItemJson>(
      'PATCH',
      `/v1/datasets/${datasetId}/items/${encodeURIComponent(parsed.positionals[1]!)}`,
      patch,
    )
    context.io.stdout.write(
      v.json ? `${JSON.stringify(item)}\n` : `annotated ${item.item_id}: ${item.annotation_status}\n`,
    )
    return 0
  },
}

/** `spansift items list|annotate`. */
export const itemsCommand = createCommandGroup('items', "list and annotate a dataset's rows", {
  list,
  annotate,
})

/** The claim route's answer: the row held (null when none is left), the claim, the queue's size. */
interface ClaimJson {
  item: ItemJson | null
  claim: {
    claim_id: string
    item_id: string
    reviewer: string
    claimed_at: string
    expires_at: string
  } | null
  remaining: number
  claimed_by_others: number
}

/** Who reviews when --reviewer names no one: the OS user (no passwd entry: `reviewer`). */
function osUser(): string {
  try {
    return userInfo().username || 'reviewer'
  } catch {
    return 'reviewer'
  }
}

const next: Command = {
  summary: 'claim the next row waiting for review, so no other reviewer gets it',
  help: `spansift queue next — claim the next row of a dataset's review queue

usage: spansift queue next <dataset> [--reviewer NAME] [--lease-seconds N] [options]

Claims the oldest row of the current version whose annotation_status is empty and that
no other reviewer holds (POST /v1/datasets/{id}/queue/claim), and prints it with its
claim, or says the queue is empty (--json: the API's answer, item and claim null).
Two reviewers asking at once get different rows; the same reviewer asking again gets
its own row back. Annotate it with spansift items annotate; the claim ends when its lease
does, or at once with spansift queue release.

options:
  --reviewer NAME      who claims (default: the OS user name)
  --lease-seconds N    how long the claim holds, 10–3600 (default 300)
${DATASET_OPTION_HELP}
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      'queue next',
      args,
      {
        ...API_OPTIONS,
        application: { type: 'string' },
        reviewer: { type: 'string' },
        'lease-seconds': { type: 'string' },
      },
      ['<dataset>'],
    )
    if (parsed.help) return printHelp(context, next)
    const v = parsed.values
    const lease = v['lease-seconds'] === undefined ? undefined : Number(v['lease-seconds'])
    if (lease !== undefined && !Number.isInteger(lease)) {
      throw new UsageError('--lease-seconds takes a whole number of seconds', 'queue next')
    }
    const client = apiClientFor('queue next', v, context)
    const datasetId = await resolveDatasetRef(client, parsed.positionals[0]!, v.application)
    const claimed = await client.json<ClaimJson>('POST', `/v1/datasets/${datasetId}/queue/claim`, {
      reviewer: v.reviewer ?? osUser(),
      ...(lease === undefined ? {} : { lease_seconds: lease }),
    })
    const { stdout } = context.io
    const { item, claim } = claimed
    if (v.json) stdout.write(`${JSON.stringify(claimed)}\n`)
    else if (!item || !claim) {
      const held = claimed.claimed_by_others
      stdout.write(
        held > 0 ? `no row is free: ${held} held by other reviewers\n` : 'the review queue is empty\n',
      )
    } else {
      stdout.write(
        `${describeItem(item)}\n` +
          `claim       ${claim.claim_id} by ${claim.reviewer} until ${claim.expires_at}\n` +
          `queue       ${claimed.remaining} rows left, ${claimed.claimed_by_others} held by other reviewers\n`,
      )
    }
    return 0
  },
}

const release: Command = {
  summary: 'give a claimed row back to the queue before its lease ends',
  help: `spansift queue release — end a claim on a review-queue row

usage: spansift queue release <dataset> <claim-id> [options]

Ends the claim (DELETE /v1/datasets/{id}/queue/claims/{claim_id}) so the row goes back
to the queue for any reviewer. Releasing a claim that expired or was released already
does nothing.

options:
${DATASET_OPTION_HELP}
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      'queue release',
      args,
      { ...API_OPTIONS, application: { type: 'string' } },
      ['<dataset>', '<claim-id>'],
    )
    if (parsed.help) return printHelp(context, release)
    const client = apiClientFor('queue release', parsed.values, context)
    const datasetId = await resolveDatasetRef(client, parsed.positionals[0]!, parsed.values.application)
    const claimId = parsed.positionals[1]!
    await client.json('DELETE', `/v1/datasets/${datasetId}/queue/claims/${encodeURIComponent(claimId)}`)
    const { stdout } = context.io
    stdout.write(
      parsed.values.json ? `${JSON.stringify({ released: claimId })}\n` : `released claim ${claimId}\n`,
    )
    return 0
  },
}

/** `spansift queue next|release`. */
export const queueCommand = createCommandGroup('queue', "a dataset's review queue, a claimed row at a time", {
  next,
  release,
})
