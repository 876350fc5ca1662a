import { apiClientFor } from './api-client.ts'
import { resolveApplicationRef } from './api-refs.ts'
import {
  API_OPTIONS,
  API_OPTIONS_HELP,
  type Command,
  createCommandGroup,
  parseCommandArgs,
  printHelp,
} from './command.ts'

const create: Command = {
  summary: "create an application's API key (admin key)",
  help: `spansift keys create — create an API key for an application (admin key)

usage: spansift keys create <application> [options]

<application> is its id or its name.

Prints the key on stdout. It is shown once: spansift stores only its hash.

options:
${API_OPTIONS_HELP}`,
  async run(args, context) {
    const parsed = parseCommandArgs('keys create', args, API_OPTIONS, ['<application>'])
    if (parsed.help) return printHelp(context, create)
    const client = apiClientFor('keys create', parsed.values, context)
    const applicationId = await resolveApplicationRef(client, parsed.positionals[0]!)
    const body = await client.json<{ key: string; application_id: string }>(
      'POST',
      `/v1/applications/${encodeURIComponent(applicationId)}/keys`,
    )
    if (parsed.values.json) {
      context.io.stdout.write(`${JSON.stringify(body)}\n`)
    } else {
      context.io.stdout.write(`${body.key}\n`)
      context.io.stderr.write(
        `spansift: key for application ${body.application_id}; shown once, store it now\n`,
      )
    }
    return 0
  },
}

/** `spansift keys create`. */
export const keysCommand = createCommandGroup('keys', 'create API keys', { create })
