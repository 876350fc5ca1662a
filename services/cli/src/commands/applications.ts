import { apiClientFor } from './api-client.ts'
import {
  API_OPTIONS,
  API_OPTIONS_HELP,
  type Command,
  createCommandGroup,
  formatTable,
  parseCommandArgs,
  printHelp,
} from './command.ts'

interface ApplicationJson {
  id: string
  name: string
  created_at?: string
}

const list: Command = {
  summary: 'list the applications (admin key)',
  help: `spansift applications list — list the applications (admin key)

usage: spansift applications list [options]

options:
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs('applications list', args, API_OPTIONS, [])
    if (parsed.help) return printHelp(context, list)
    const client = apiClientFor('applications list', parsed.values, context)
    const body = {
      applications: await client.listAll<ApplicationJson>('/v1/applications', 'applications'),
    }
    if (parsed.values.json) {
      context.io.stdout.write(`${JSON.stringify(body)}\n`)
    } else if (body.applications.length === 0) {
      context.io.stdout.write('no applications\n')
    } else {
      const rows = body.applications.map((a) => [a.id, a.name, a.created_at ?? ''])
      context.io.stdout.write(`${formatTable(['ID', 'NAME', 'CREATED'], rows)}\n`)
    }
    return 0
  },
}

const create: Command = {
  summary: 'create an application (admin key)',
  help: `spansift applications create — create an application (admin key)

usage: spansift applications create <name> [options]

Prints the new application's id.

options:
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs('applications create', args, API_OPTIONS, ['<name>'])
    if (parsed.help) return printHelp(context, create)
    const client = apiClientFor('applications create', parsed.values, context)
    const application = await client.json<ApplicationJson>('POST', '/v1/applications', {
      name: parsed.positionals[0],
    })
    context.io.stdout.write(
      parsed.values.json
        ? `${JSON.stringify(application)}\n`
        : `created application ${application.name}: ${application.id}\n`,
    )
    return 0
  },
}

const show: Command = {
  summary: 'show one application, by id or name',
  help: `spansift applications show — show one application, by id or name

usage: spansift applications show <application> [options]

An application key sees only its own application.

options:
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs('applications show', args, API_OPTIONS, ['<application>'])
    if (parsed.help) return printHelp(context, show)
    const client = apiClientFor('applications show', parsed.values, context)
    const application = await client.json<ApplicationJson>(
      'GET',
      `/v1/applications/${encodeURIComponent(parsed.positionals[0]!)}`,
    )
    context.io.stdout.write(
      parsed.values.json
        ? `${JSON.stringify(application)}\n`
        : `${formatTable(['ID', 'NAME', 'CREATED'], [[application.id, application.name, application.created_at ?? '']])}\n`,
    )
    return 0
  },
}

/** `spansift applications list|show|create`. */
export const applicationsCommand = createCommandGroup('applications', 'list, show and create applications', {
  list,
  show,
  create,
})
