import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { apiClientFor } from './api-client.ts'
import { resolveApplicationRef, resolveDatasetRef } from './api-refs.ts'
import {
  API_OPTIONS,
  API_OPTIONS_HELP,
  CliError,
  type CliIo,
  type Command,
  createCommandGroup,
  formatTable,
  parseCommandArgs,
  printHelp,
  UsageError,
} from './command.ts'

interface DatasetVersionJson {
  id: number
  number: number
  status: 'draft' | 'published'
  row_count: number
  created_at: string
  published_at: string | null
}

interface DatasetJson {
  id: string
  group_id: number
  name: string
  application_id: string
  kind: 'eval' | 'training'
  exclude_dataset_id: string | null
  row_count: number
  columns: { name: string; bucket: string }[]
  feedback_categories: string[]
  versions: DatasetVersionJson[]
  created_at: string
}

const EXPORT_FORMATS = ['jsonl', 'csv', 'parquet', 'chat-jsonl'] as const
type ExportFormat = (typeof EXPORT_FORMATS)[number]

const WITH_APPLICATION = { ...API_OPTIONS, application: { type: 'string' } } as const
const APPLICATION_HELP = `  --application A   the dataset's application (id or name), when <dataset> is a name
                    several applications use`

const list: Command = {
  summary: 'list datasets',
  help: `spansift datasets list — list datasets

usage: spansift datasets list [--application APP] [options]

options:
  --application APP only the datasets of this application (id or name)
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      'datasets list',
      args,
      { ...API_OPTIONS, application: { type: 'string' } },
      [],
    )
    if (parsed.help) return printHelp(context, list)
    const client = apiClientFor('datasets list', parsed.values, context)
    const application = parsed.values.application
    const query =
      application === undefined ? '' : `?application_id=${await resolveApplicationRef(client, application)}`
    const body = { datasets: await client.listAll<DatasetJson>(`/v1/datasets${query}`, 'datasets') }
    if (parsed.values.json) {
      context.io.stdout.write(`${JSON.stringify(body)}\n`)
    } else if (body.datasets.length === 0) {
      context.io.stdout.write('no datasets\n')
    } else {
      const rows = body.datasets.map((d) => [d.id, d.kind, String(d.row_count), d.application_id, d.name])
      context.io.stdout.write(`${formatTable(['ID', 'KIND', 'ROWS', 'APPLICATION', 'NAME'], rows)}\n`)
    }
    return 0
  },
}

const show: Command = {
  summary: 'show a dataset: kind, columns, versions',
  help: `spansift datasets show — show a dataset: kind, columns, versions

usage: spansift datasets show <dataset> [options]

<dataset> is an id or a name.

options:
${APPLICATION_HELP}
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs('datasets show', args, WITH_APPLICATION, ['<dataset>'])
    if (parsed.help) return printHelp(context, show)
    const client = apiClientFor('datasets show', parsed.values, context)
    const id = await resolveDatasetRef(client, parsed.positionals[0]!, parsed.values.application)
    const dataset = await client.json<DatasetJson>('GET', `/v1/datasets/${encodeURIComponent(id)}`)
    context.io.stdout.write(
      parsed.values.json ? `${JSON.stringify(dataset)}\n` : `${describeDataset(dataset)}\n`,
    )
    return 0
  },
}

/** A dataset as lines of text. */
export function describeDataset(d: DatasetJson): string {
  const fields: [string, string][] = [
    ['id', d.id],
    ['name', d.name],
    ['kind', d.kind],
    ['application', d.application_id],
    ['group id', String(d.group_id)],
    ['excludes', d.exclude_dataset_id ?? '-'],
    ['rows', String(d.row_count)],
    ['columns', d.columns.map((c) => `${c.bucket}.${c.name}`).join(', ') || '-'],
    ['categories', d.feedback_categories.join(', ') || '- (any)'],
    ['created', d.created_at],
  ]
  const width = Math.max(...fields.map(([name]) => name.length)) + 2
  const versions = d.versions
    .toSorted((a, b) => a.number - b.number)
    .map((v) => [
      `v${v.number}`,
      v.status,
      `${v.row_count} rows`,
      `created ${v.created_at}`,
      v.published_at ? `published ${v.published_at}` : '',
    ])
  return [
    ...fields.map(([name, value]) => `${name.padEnd(width)}${value}`),
    'versions:',
    ...(versions.length === 0
      ? ['  none']
      : formatTable(['VERSION', 'STATUS', 'ROWS', 'CREATED', 'PUBLISHED'], versions)
          .split('\n')
          .slice(1)
          .map((line) => `  ${line}`)),
  ].join('\n')
}

const exportCommand: Command = {
  summary: 'export a dataset version as JSONL, CSV, Parquet or chat fine-tuning JSONL',
  help: `spansift datasets export — export a dataset version

usage: spansift datasets export <dataset> --format jsonl|csv|parquet|chat-jsonl [--version N] [--strict] [--output FILE] [options]

Streams the export to FILE (written whole or not at all) or to stdout. With stderr
on a terminal, shows the bytes written so far. A version with no rows (for chat-jsonl:
no row that converts) is an error, never an empty file. chat-jsonl leaves out rows that
do not convert (no user message, no answer) and names them on stderr; --strict makes
them an error.

options:
  --format F      jsonl, csv, parquet or chat-jsonl (training datasets)   (required)
  --version N     the version to export (default: the current one, the draft if any)
  --strict        chat-jsonl: fail when any row does not convert
  -o, --output F  write to this file instead of stdout
${APPLICATION_HELP}
${API_OPTIONS_HELP.split('\n')
  .filter((line) => !line.includes('--json'))
  .join('\n')}`,
  async run(args, context) {
    const { json: _json, ...apiOptions } = API_OPTIONS
    const parsed = parseCommandArgs(
      'datasets export',
      args,
      {
        ...apiOptions,
        format: { type: 'string' },
        version: { type: 'string' },
        output: { type: 'string', short: 'o' },
        application: { type: 'string' },
        strict: { type: 'boolean' },
      },
      ['<dataset>'],
    )
    if (parsed.help) return printHelp(context, exportCommand)
    const { format, version, output } = parsed.values
    if (format === undefined) throw new UsageError('--format is required', 'datasets export')
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(
        `--format must be one of ${EXPORT_FORMATS.join(', ')}, got "${format}"`,
        'datasets export',
      )
    }
    if (version !== undefined && !/^[1-9]\d*$/.test(version)) {
      throw new UsageError(`--version must be a positive integer, got "${version}"`, 'datasets export')
    }
    if (format === 'parquet' && output === undefined && context.io.stdout.isTTY) {
      throw new UsageError('Parquet is binary: pass --output FILE or redirect stdout', 'datasets export')
    }
    const client = apiClientFor('datasets export', parsed.values, context)
    const id = await resolveDatasetRef(client, parsed.positionals[0]!, parsed.values.application)
    const query = new URLSearchParams({
      format,
      ...(version === undefined ? {} : { version }),
      ...(parsed.values.strict ? { strict: 'true' } : {}),
    })
    const { body, headers } = await client.stream(`/v1/datasets/${encodeURIComponent(id)}/export?${query}`)
    const written = await writeExport(body, output, context.io, format as ExportFormat)
    const unconvertible = Number(headers.get('x-spansift-unconvertible-rows') ?? 0)
    if (unconvertible > 0) {
      context.io.stderr.write(
        `spansift: ${unconvertible} rows do not convert to chat examples and were left out (${headers.get('x-spansift-unconvertible-items') ?? ''}); --strict makes this an error\n`,
      )
    }
    if (output !== undefined)
      context.io.stderr.write(`spansift: wrote ${formatBytes(written)} to ${output}\n`)
    return 0
  },
}

/**
 * Streams an export to `output` (through a temporary file renamed at the end, so a
 * failed export leaves no half file) or to stdout; returns the bytes written.
 */
async function writeExport(
  body: ReadableStream<Uint8Array>,
  output: string | undefined,
  io: CliIo,
  format: ExportFormat,
): Promise<number> {
  const progress = createProgress(io.stderr)
  const source = Readable.fromWeb(body as WebReadableStream<Uint8Array>)
  try {
    if (output === undefined) {
      await pipeline(source, progress.counter, io.stdout, { end: false })
    } else {
      const partial = `${output}.partial-${process.pid}`
      try {
        await pipeline(source, progress.counter, createWriteStream(partial))
        await rename(partial, output)
      } catch (error) {
        await rm(partial, { force: true })
        throw error
      }
    }
  } catch (error) {
    progress.done()
    if (error instanceof CliError) throw error
    const reason = error instanceof Error ? error.message : String(error)
    throw new CliError(
      `the ${format} export stopped after ${formatBytes(progress.bytes())}: ${reason}${output === undefined ? '' : `; ${output} was not written`}`,
    )
  }
  progress.done()
  return progress.bytes()
}

/** Counts the bytes passing through; on a terminal, redraws `N bytes written` on stderr now and then. */
function createProgress(stderr: CliIo['stderr']) {
  let bytes = 0
  let lastDraw = 0
  let drawn = false
  const draw = () => {
    stderr.write(`\rspansift: ${formatBytes(bytes)} written`)
    drawn = true
  }
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length
      if (stderr.isTTY && Date.now() - lastDraw >= 100) {
        lastDraw = Date.now()
        draw()
      }
      callback(null, chunk)
    },
  })
  return {
    counter,
    bytes: () => bytes,
    done() {
      if (!stderr.isTTY) return
      draw()
      if (drawn) stderr.write('\n')
    },
  }
}

/** Bytes in a readable unit. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]} (${bytes} bytes)`
}

const create: Command = {
  summary: 'create a dataset (eval or training)',
  help: `spansift datasets create — create a dataset

usage: spansift datasets create <name> --kind eval|training [--application APP] [--exclude DATASET]
                                [--feedback-categories A,B,C] [options]

The name is unique within the application. Prints the new dataset's id.

options:
  --kind K          eval or training (required)
  --application APP its application (id or name); required with the admin key
  --exclude D       training only: the eval dataset (id or name, same application)
                    whose rows it must never hold
  --feedback-categories A,B,C
                    the categories reviewers pick from (comma-separated);
                    absent: any category
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      'datasets create',
      args,
      {
        ...WITH_APPLICATION,
        kind: { type: 'string' },
        exclude: { type: 'string' },
        'feedback-categories': { type: 'string' },
      },
      ['<name>'],
    )
    if (parsed.help) return printHelp(context, create)
    const { kind, application, exclude } = parsed.values
    const categories = parsed.values['feedback-categories']
    if (kind !== 'eval' && kind !== 'training') {
      throw new UsageError(
        kind === undefined
          ? '--kind is required (eval or training)'
          : `--kind must be eval or training, got "${kind}"`,
        'datasets create',
      )
    }
    const client = apiClientFor('datasets create', parsed.values, context)
    const applicationId =
      application === undefined ? undefined : await resolveApplicationRef(client, application)
    const excludeId =
      exclude === undefined ? undefined : await resolveDatasetRef(client, exclude, application)
    const dataset = await client.json<DatasetJson>('POST', '/v1/datasets', {
      name: parsed.positionals[0],
      kind,
      ...(applicationId ? { application_id: applicationId } : {}),
      ...(excludeId ? { exclude_dataset_id: excludeId } : {}),
      ...(categories === undefined ? {} : { feedback_categories: splitCategories(categories) }),
    })
    context.io.stdout.write(
      parsed.values.json
        ? `${JSON.stringify(dataset)}\n`
        : `created ${dataset.kind} dataset ${dataset.name}: ${dataset.id}\n`,
    )
    return 0
  },
}

/** A comma-separated list of categories: trimmed, empties dropped ('' is none). */
const splitCategories = (text: string) =>
  text
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean)

const setCategories: Command = {
  summary: "set the dataset's feedback categories (for every reviewer)",
  help: `spansift datasets set-categories — set the feedback categories of a dataset

usage: spansift datasets set-categories <dataset> <categories> [options]

<categories> is comma-separated ("wrong date,tone"); "" allows any category. A row's
feedback_category must then be one of them (null always allowed). At most 20, each
unique and at most 200 characters.

options:
${APPLICATION_HELP}
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs('datasets set-categories', args, WITH_APPLICATION, [
      '<dataset>',
      '<categories>',
    ])
    if (parsed.help) return printHelp(context, setCategories)
    const client = apiClientFor('datasets set-categories', parsed.values, context)
    const id = await resolveDatasetRef(client, parsed.positionals[0]!, parsed.values.application)
    const dataset = await client.json<DatasetJson>('PATCH', `/v1/datasets/${id}`, {
      feedback_categories: splitCategories(parsed.positionals[1]!),
    })
    context.io.stdout.write(
      parsed.values.json
        ? `${JSON.stringify(dataset)}\n`
        : `${dataset.name}: feedback categories ${dataset.feedback_categories.join(', ') || '- (any)'}\n`,
    )
    return 0
  },
}

const publish: Command = {
  summary: 'publish the draft version (freeze it)',
  help: `spansift datasets publish — publish a dataset's draft version

usage: spansift datasets publish <dataset> [options]

Freezes the draft as a published version; the next change starts a new draft.

options:
${APPLICATION_HELP}
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs('datasets publish', args, WITH_APPLICATION, ['<dataset>'])
    if (parsed.help) return printHelp(context, publish)
    const client = apiClientFor('datasets publish', parsed.values, context)
    const id = await resolveDatasetRef(client, parsed.positionals[0]!, parsed.values.application)
    const dataset = await client.json<DatasetJson>('POST', `/v1/datasets/${id}/publish`)
    const published = dataset.versions
      .filter((v) => v.status === 'published')
      .toSorted((a, b) => b.number - a.number)[0]
    context.io.stdout.write(
      parsed.values.json
        ? `${JSON.stringify(dataset)}\n`
        : `published ${dataset.name} v${published?.number ?? '?'}: ${published?.row_count ?? 0} rows\n`,
    )
    return 0
  },
}

const deleteCommand: Command = {
  summary: 'delete a dataset and its rows (asks for --yes)',
  help: `spansift datasets delete — delete a dataset, its versions and its rows

usage: spansift datasets delete <dataset> --yes [options]

Cannot be undone, so it needs --yes. Refused (409) while a training dataset excludes it.

options:
  --yes             really delete
${APPLICATION_HELP}
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs(
      'datasets delete',
      args,
      { ...WITH_APPLICATION, yes: { type: 'boolean' } },
      ['<dataset>'],
    )
    if (parsed.help) return printHelp(context, deleteCommand)
    if (!parsed.values.yes) {
      throw new UsageError('deleting a dataset cannot be undone: pass --yes', 'datasets delete')
    }
    const client = apiClientFor('datasets delete', parsed.values, context)
    const id = await resolveDatasetRef(client, parsed.positionals[0]!, parsed.values.application)
    await client.json('DELETE', `/v1/datasets/${id}`)
    context.io.stdout.write(
      parsed.values.json ? `${JSON.stringify({ deleted: id })}\n` : `deleted dataset ${id}\n`,
    )
    return 0
  },
}

/** `spansift datasets list|show|create|set-categories|publish|delete|export`. */
export const datasetsCommand = createCommandGroup(
  'datasets',
  'list, show, create, set categories of, publish, delete and export datasets',
  {
    list,
    show,
    create,
    'set-categories': setCategories,
    publish,
    delete: deleteCommand,
    export: exportCommand,
  },
)
