/**
 * Reads a span (its attributes and its events) into the message model, whatever
 * instrumentation recorded it. For the input and the output separately, the first source
 * below that holds messages wins:
 *
 *  1. GenAI conventions on the span: `gen_ai.input.messages` / `gen_ai.output.messages`
 *     (messages with `parts`, structured or JSON in a string), `gen_ai.system_instructions`,
 *     `gen_ai.tool.definitions`.
 *  2. The GenAI inference-details event `gen_ai.client.inference.operation.details` (same
 *     attributes, on a span event).
 *  3. The older per-message events `gen_ai.system.message`, `gen_ai.user.message`,
 *     `gen_ai.assistant.message`, `gen_ai.tool.message`, `gen_ai.choice`: their body fields
 *     (`content`, `tool_calls`, `id`, `message`, `index`, `finish_reason`) under a `body`
 *     attribute (the log record's body; text is the content) or as event attributes.
 *  4. The span events `gen_ai.content.prompt` / `gen_ai.content.completion` (attributes
 *     `gen_ai.prompt` / `gen_ai.completion`).
 *  5. The indexed `gen_ai.prompt.N.*` / `gen_ai.completion.N.*` (OpenLLMetry's older form:
 *     `role`, `content`, `tool_call_id`, `tool_calls.M.{id,name,arguments}`, `finish_reason`;
 *     its tools as `llm.request.functions.N.*`), then the single `gen_ai.prompt` /
 *     `gen_ai.completion` attributes.
 *  6. OpenInference: `llm.input_messages.N.message.*` / `llm.output_messages.N.message.*`
 *     (`role`, `content`, `contents.M.message_content.*`, `name`, `tool_call_id`,
 *     `tool_calls.M.tool_call.{id,function.name,function.arguments}`).
 *  7. OpenLLMetry workflow and task spans: `traceloop.entity.input` / `traceloop.entity.output`.
 *  8. Last resort, by mime type: `input.value` / `output.value` (an OpenAI request body's
 *     `messages`, a response's `choices`, or plain text as one user or assistant message),
 *     then attributes literally named `input` / `output`.
 *
 * Log records of GenAI events reach this as span events named like the record's event
 * name, with the record's attributes and its body under `body` (span-content-event.ts of
 * the logs receiver).
 */
import type { Attributes, AttributeValue, Span, SpanEvent } from '../span-model.ts'
import type { GenAiContent, Message, ToolDefinition } from './message-model.ts'
import { messageText } from './message-model.ts'
import {
  isObject,
  parseJsonText,
  parseOpenAiMessage,
  parseOpenAiMessages,
  parseSemconvMessages,
  parseSystemInstructions,
  parseToolDefinition,
  parseToolDefinitions,
} from './message-parsers.ts'

/** The event of the current GenAI conventions that carries one inference's details. */
export const INFERENCE_DETAILS_EVENT = 'gen_ai.client.inference.operation.details'

/** The older per-message GenAI events, by the role each stands for. */
export const MESSAGE_EVENTS: Readonly<Record<string, string>> = {
  'gen_ai.system.message': 'system',
  'gen_ai.user.message': 'user',
  'gen_ai.assistant.message': 'assistant',
  'gen_ai.tool.message': 'tool',
}
export const CHOICE_EVENT = 'gen_ai.choice'

/** Every span event name the extraction reads. */
export const GENAI_CONTENT_EVENTS = [
  INFERENCE_DETAILS_EVENT,
  ...Object.keys(MESSAGE_EVENTS),
  CHOICE_EVENT,
  'gen_ai.content.prompt',
  'gen_ai.content.completion',
]

interface Found {
  input?: Message[]
  output?: Message[]
  system?: string
  tools?: ToolDefinition[]
}

interface Source {
  name: string
  read(span: Span): Found
}

// Measured on the captured spans (testdata/genai), 2 shared cores at load average 24:
// 40–90 µs a span (OpenInference's many indexed keys the slowest), once per span whatever
// the number of rules on message aliases (the cache); keyed aliases (`model`) ~1.6 µs.
// Sources stop at the first that gives both input and output, so raw bodies are parsed
// only when nothing better is there.
const cache = new WeakMap<Span, GenAiContent>()

/** The message model of a span (computed once per span object; spans are not mutated). */
export function extractGenAi(span: Span): GenAiContent {
  let content = cache.get(span)
  if (content === undefined) {
    content = extract(span)
    cache.set(span, content)
  }
  return content
}

function extract(span: Span): GenAiContent {
  const a = span.attributes
  const content: GenAiContent = {
    input: [],
    output: [],
    system: '',
    tools: [],
    finishReasons: [],
    usage: {},
    sources: {},
  }
  let system: string | undefined
  let tools: ToolDefinition[] | undefined
  for (const source of SOURCES) {
    const found = source.read(span)
    if (found.input && found.input.length > 0 && !content.sources.input) {
      content.input = found.input
      content.sources.input = source.name
    }
    if (found.output && found.output.length > 0 && !content.sources.output) {
      content.output = found.output
      content.sources.output = source.name
    }
    if (system === undefined && found.system) system = found.system
    if (tools === undefined && found.tools && found.tools.length > 0) tools = found.tools
    // Later sources are other conventions' fallbacks (raw bodies among them, costly to parse).
    if (content.sources.input && content.sources.output) break
  }
  // System instructions recorded as messages move out of the input (one `input` for all).
  const systemMessages = content.input.filter((m) => m.role === 'system' || m.role === 'developer')
  if (systemMessages.length > 0) {
    content.input = content.input.filter((m) => !systemMessages.includes(m))
    system ??= systemMessages.map(messageText).join('\n')
  }
  content.system = system ?? ''
  content.tools = tools ?? []
  const requestModel =
    firstString(a, REQUEST_MODEL_KEYS) ?? invocationModel(a) ?? detailsString(span, 'gen_ai.request.model')
  const responseModel = firstString(a, RESPONSE_MODEL_KEYS) ?? detailsString(span, 'gen_ai.response.model')
  if (requestModel !== undefined) content.requestModel = requestModel
  if (responseModel !== undefined) content.responseModel = responseModel
  content.finishReasons = finishReasons(a, content.output)
  // Conventions that record the finish reasons beside the messages (OpenInference's
  // llm.finish_reason, indexed forms): the output messages carry them too, choice by choice.
  content.output.forEach((m, i) => {
    const reason = content.finishReasons[i]
    if (m.finish_reason === undefined && m.role === 'assistant' && reason !== undefined)
      m.finish_reason = reason
  })
  content.usage = usage(a)
  const variables = promptVariables(a)
  if (variables) content.promptVariables = variables
  return content
}

// --- Sources, in order ---------------------------------------------------------------------

const SOURCES: Source[] = [
  { name: 'gen_ai.input.messages', read: (s) => semconvFrom(s.attributes) },
  {
    name: INFERENCE_DETAILS_EVENT,
    read: (s) => {
      const event = lastEvent(s, INFERENCE_DETAILS_EVENT)
      return event ? semconvFrom(eventFields(event)) : {}
    },
  },
  { name: 'gen_ai.*.message events', read: messageEvents },
  { name: 'gen_ai.content.* events', read: contentEvents },
  { name: 'gen_ai.prompt.N', read: (s) => indexedGenAi(s.attributes) },
  {
    name: 'gen_ai.prompt',
    read: (s) => ({
      input: promptValue(s.attributes['gen_ai.prompt'], 'user'),
      output: promptValue(s.attributes['gen_ai.completion'], 'assistant'),
    }),
  },
  { name: 'llm.input_messages', read: (s) => openInference(s.attributes) },
  {
    name: 'traceloop.entity',
    read: (s) => ({
      input: bodyMessages(s.attributes['traceloop.entity.input'], 'user'),
      output: bodyMessages(s.attributes['traceloop.entity.output'], 'assistant'),
    }),
  },
  { name: 'input.value', read: rawValues },
  {
    // Attributes literally named `input` / `output` (a span that records its own).
    name: 'input',
    read: (s) => ({
      input: bodyMessages(s.attributes.input, 'user'),
      output: bodyMessages(s.attributes.output, 'assistant'),
    }),
  },
]

function semconvFrom(a: Attributes): Found {
  const found: Found = {}
  const input = parseSemconvMessages(a['gen_ai.input.messages'])
  const output = parseSemconvMessages(a['gen_ai.output.messages'])
  const system = parseSystemInstructions(a['gen_ai.system_instructions'])
  const tools = parseToolDefinitions(a['gen_ai.tool.definitions'])
  if (input) found.input = input
  if (output) found.output = output
  if (system) found.system = system
  if (tools) found.tools = tools
  return found
}

function lastEvent(span: Span, name: string): SpanEvent | undefined {
  for (let i = span.events.length - 1; i >= 0; i--) if (span.events[i]!.name === name) return span.events[i]
  return undefined
}

/**
 * An event's fields: its attributes, with the log record's body (under `body`, as the logs
 * receiver attaches it) merged in: an object (or its JSON text) field by field, plain text
 * as the `content`.
 */
function eventFields(event: SpanEvent): Attributes {
  const raw = event.attributes.body
  const body = parseJsonText(raw)
  if (isObject(body)) return { ...event.attributes, ...body }
  if (typeof raw === 'string' && raw !== '') return { content: raw, ...event.attributes }
  return event.attributes
}

function messageEvents(span: Span): Found {
  const input: Message[] = []
  const choices: Array<{ index: number; message: Message }> = []
  let system: string | undefined
  for (const event of span.events) {
    const role = MESSAGE_EVENTS[event.name]
    if (role !== undefined) {
      const fields = eventFields(event)
      const message = parseOpenAiMessage({
        ...fields,
        role: typeof fields.role === 'string' ? fields.role : role,
      })
      if (message) input.push(message)
      if (role === 'system' && message) system = messageText(message)
    } else if (event.name === CHOICE_EVENT) {
      const fields = eventFields(event)
      const raw = parseJsonText(fields.message)
      const message = parseOpenAiMessage(isObject(raw) ? raw : fields, 'assistant')
      if (!message) continue
      if (typeof fields.finish_reason === 'string') message.finish_reason = fields.finish_reason
      choices.push({ index: typeof fields.index === 'number' ? fields.index : choices.length, message })
    }
  }
  choices.sort((x, y) => x.index - y.index)
  const found: Found = { input, output: choices.map((c) => c.message) }
  if (system) found.system = system
  return found
}

function contentEvents(span: Span): Found {
  const prompt = lastEvent(span, 'gen_ai.content.prompt')
  const completion = lastEvent(span, 'gen_ai.content.completion')
  const found: Found = {}
  const input = prompt ? promptValue(eventFields(prompt)['gen_ai.prompt'], 'user') : undefined
  const output = completion
    ? promptValue(eventFields(completion)['gen_ai.completion'], 'assistant')
    : undefined
  if (input) found.input = input
  if (output) found.output = output
  return found
}

/** `gen_ai.prompt` / `gen_ai.completion` held whole: OpenAI messages or parts messages as JSON, or text. */
function promptValue(value: AttributeValue | undefined, role: string): Message[] | undefined {
  if (value === undefined || value === null) return undefined
  const parsed = parseJsonText(value)
  if (Array.isArray(parsed)) {
    const withParts = parsed.some((m) => isObject(m) && Array.isArray(m.parts))
    return withParts ? parseSemconvMessages(parsed) : parseOpenAiMessages(parsed)
  }
  if (typeof parsed === 'string')
    return parsed === '' ? undefined : [{ role, parts: [{ type: 'text', content: parsed }] }]
  return undefined
}

/** Groups `<prefix>N.<rest>` keys by N (ascending): N → {rest → value}. */
export function indexedGroups(a: Attributes, prefix: string): Array<Record<string, AttributeValue>> {
  const groups = new Map<number, Record<string, AttributeValue>>()
  for (const key in a) {
    if (!key.startsWith(prefix)) continue
    const dot = key.indexOf('.', prefix.length)
    const digits = key.slice(prefix.length, dot < 0 ? undefined : dot)
    if (!/^(0|[1-9][0-9]{0,8})$/.test(digits)) continue
    const index = Number(digits)
    let group = groups.get(index)
    if (!group) {
      group = {}
      groups.set(index, group)
    }
    group[dot < 0 ? '' : key.slice(dot + 1)] = a[key] as AttributeValue
  }
  return [...groups.entries()].sort((x, y) => x[0] - y[0]).map(([, g]) => g)
}

function indexedGenAi(a: Attributes): Found {
  const read = (prefix: string, role: string): Message[] =>
    indexedGroups(a, prefix).flatMap((g) => {
      const toolCalls = indexedGroups(g, 'tool_calls.').map((c) => ({
        id: c.id ?? '',
        function: { name: c.name ?? '', arguments: c.arguments ?? null },
      }))
      const message = parseOpenAiMessage(
        {
          role: g.role ?? role,
          content: g.content ?? null,
          tool_call_id: g.tool_call_id ?? null,
          tool_calls: toolCalls,
        },
        role,
      )
      if (message && typeof g.finish_reason === 'string') message.finish_reason = g.finish_reason
      return message && (message.parts.length > 0 || g.role !== undefined) ? [message] : []
    })
  // OpenLLMetry's tools: llm.request.functions.N.{name, description, parameters}.
  const tools = indexedGroups(a, 'llm.request.functions.')
    .map((g) =>
      parseToolDefinition({
        name: g.name ?? null,
        description: g.description ?? null,
        parameters: g.parameters ?? null,
      }),
    )
    .filter((t) => t !== undefined)
  return { input: read('gen_ai.prompt.', 'user'), output: read('gen_ai.completion.', 'assistant'), tools }
}

function openInference(a: Attributes): Found {
  const read = (prefix: string, role: string): Message[] =>
    indexedGroups(a, prefix).flatMap((g) => {
      const contents = indexedGroups(g, 'message.contents.').map(
        (c): AttributeValue =>
          c['message_content.type'] === 'image'
            ? { type: 'image_url', image_url: { url: c['message_content.image.image.url'] ?? '' } }
            : { type: 'text', text: c['message_content.text'] ?? '' },
      )
      const toolCalls = indexedGroups(g, 'message.tool_calls.').map((c) => ({
        id: c['tool_call.id'] ?? '',
        function: {
          name: c['tool_call.function.name'] ?? '',
          arguments: c['tool_call.function.arguments'] ?? null,
        },
      }))
      const message = parseOpenAiMessage(
        {
          role: g['message.role'] ?? null,
          content: contents.length > 0 ? contents : (g['message.content'] ?? null),
          name: g['message.name'] ?? null,
          tool_call_id: g['message.tool_call_id'] ?? null,
          tool_calls: toolCalls,
        },
        role,
      )
      return message ? [message] : []
    })
  const tools = indexedGroups(a, 'llm.tools.')
    .map((g) => parseToolDefinition(g['tool.json_schema']))
    .filter((t) => t !== undefined)
  return {
    input: read('llm.input_messages.', 'user'),
    output: read('llm.output_messages.', 'assistant'),
    tools,
  }
}

/** A JSON body (OpenAI messages, `{messages}`, `{choices}`) or text, as messages. */
function bodyMessages(value: AttributeValue | undefined, role: string): Message[] | undefined {
  if (value === undefined || value === null) return undefined
  const parsed = parseJsonText(value)
  const direct = parseOpenAiMessages(parsed)
  if (direct) return direct
  if (isObject(parsed)) {
    const messages = parseOpenAiMessages(parsed.messages)
    if (messages) return messages
    if (Array.isArray(parsed.choices)) {
      const first = parsed.choices.find(isObject)
      const message = first && parseOpenAiMessage(first.message, 'assistant')
      if (message && first && typeof first.finish_reason === 'string')
        message.finish_reason = first.finish_reason
      return message ? [message] : undefined
    }
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text === '' ? undefined : [{ role, parts: [{ type: 'text', content: text }] }]
}

function rawValues(span: Span): Found {
  const a = span.attributes
  const read = (key: string, mimeKey: string, role: string): Message[] | undefined => {
    const value = a[key]
    if (value === undefined || value === null) return undefined
    const mime = typeof a[mimeKey] === 'string' ? (a[mimeKey] as string) : ''
    if (mime === 'application/json' || mime === '') return bodyMessages(value, role)
    return typeof value === 'string' && value !== ''
      ? [{ role, parts: [{ type: 'text', content: value }] }]
      : undefined
  }
  const found: Found = {}
  const input = read('input.value', 'input.mime_type', 'user')
  const output = read('output.value', 'output.mime_type', 'assistant')
  if (input) found.input = input
  if (output) found.output = output
  const body = parseJsonText(a['input.value'])
  if (isObject(body)) {
    const tools = parseToolDefinitions(body.tools)
    if (tools) found.tools = tools
  }
  return found
}

// --- Context: models, finish reasons, usage, prompt variables --------------------------------

/** The request model's keys (the model the caller asked for). */
export const REQUEST_MODEL_KEYS = ['gen_ai.request.model', 'llm.request.model'] as const
/** The response model's keys (the model that answered; OpenInference's `llm.model_name` is this one). */
export const RESPONSE_MODEL_KEYS = ['gen_ai.response.model', 'llm.response.model', 'llm.model_name'] as const

function firstString(a: Attributes, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const v = a[key]
    if (typeof v === 'string' && Object.hasOwn(a, key)) return v
  }
  return undefined
}

/** OpenInference's request model: `model` in `llm.invocation_parameters` (JSON text). */
function invocationModel(a: Attributes): string | undefined {
  const params = parseJsonText(a['llm.invocation_parameters'])
  return isObject(params) && typeof params.model === 'string' ? params.model : undefined
}

function detailsString(span: Span, key: string): string | undefined {
  const event = lastEvent(span, INFERENCE_DETAILS_EVENT)
  const v = event?.attributes[key]
  return typeof v === 'string' ? v : undefined
}

function finishReasons(a: Attributes, output: Message[]): string[] {
  const recorded = a['gen_ai.response.finish_reasons']
  if (Array.isArray(recorded)) return recorded.filter((r): r is string => typeof r === 'string')
  if (typeof a['llm.finish_reason'] === 'string') return [a['llm.finish_reason']]
  return output.flatMap((m) => (m.finish_reason ? [m.finish_reason] : []))
}

function usage(a: Attributes): GenAiContent['usage'] {
  const num = (...keys: string[]) => {
    for (const key of keys) if (typeof a[key] === 'number' && Number.isFinite(a[key])) return a[key] as number
    return undefined
  }
  const input = num('gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt')
  const output = num(
    'gen_ai.usage.output_tokens',
    'gen_ai.usage.completion_tokens',
    'llm.token_count.completion',
  )
  return {
    ...(input !== undefined ? { input_tokens: input } : {}),
    ...(output !== undefined ? { output_tokens: output } : {}),
  }
}

/** Per-variable prefixes of prompt-template variables (GenAI, OpenLLMetry). */
const VARIABLE_PREFIXES = ['gen_ai.prompt.variable.', 'traceloop.prompt.template_variables.']

function promptVariables(a: Attributes): Record<string, AttributeValue> | undefined {
  const whole = parseJsonText(a['llm.prompt_template.variables'])
  if (isObject(whole)) return whole
  const variables: Record<string, AttributeValue> = {}
  let any = false
  for (const key in a) {
    for (const prefix of VARIABLE_PREFIXES) {
      if (key.startsWith(prefix) && key.length > prefix.length) {
        variables[key.slice(prefix.length)] = a[key] as AttributeValue
        any = true
      }
    }
  }
  return any ? variables : undefined
}
