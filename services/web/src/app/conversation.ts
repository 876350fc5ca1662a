/**
 * A span's messages as a conversation, read from the attribute and event conventions
 * spans record them with. The one place the web app interprets message conventions, so
 * it can switch to the core message model (packages/core/src/genai) when that exists.
 *
 * Read, first that yields messages wins for each side (input, output):
 * - GenAI: gen_ai.input.messages / gen_ai.output.messages (parts: text, tool_call, uri, blob…)
 * - GenAI indexed: gen_ai.prompt.N.{role,content}, gen_ai.completion.N.{role,content,tool_calls.M.*}
 * - GenAI whole: gen_ai.prompt / gen_ai.completion (a string, or JSON messages)
 * - OpenInference: llm.input_messages.N.message.{role,content,tool_calls.M.tool_call.function.*},
 *   llm.output_messages.N.message.*, else input.value / output.value
 * - OpenLLMetry: traceloop.entity.input / traceloop.entity.output
 * - events: gen_ai.system.message, gen_ai.user.message, gen_ai.assistant.message,
 *   gen_ai.tool.message, gen_ai.choice
 */

export interface ToolCall {
  name: string
  arguments: string
}

export interface Message {
  role: string
  content: string
  toolCalls: ToolCall[]
  /** Links to images, audio, documents the message carries. */
  media: Array<{ kind: string; url: string }>
}

type Attributes = Record<string, unknown>

const text = (value: unknown): string =>
  value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value)

/** A JSON string that holds an array or object, parsed; anything else as it is. */
function structured(value: unknown): unknown {
  if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
    try {
      return JSON.parse(value)
    } catch {
      return value
    }
  }
  return value
}

function mediaOf(part: Record<string, unknown>): { kind: string; url: string } | undefined {
  const imageUrl = part.image_url as { url?: unknown } | string | undefined
  const url =
    typeof part.uri === 'string'
      ? part.uri
      : typeof part.url === 'string'
        ? part.url
        : typeof imageUrl === 'string'
          ? imageUrl
          : typeof imageUrl?.url === 'string'
            ? imageUrl.url
            : undefined
  if (!url) return undefined
  const kind =
    typeof part.modality === 'string' ? part.modality : typeof part.type === 'string' ? part.type : 'link'
  return { kind: kind === 'image_url' ? 'image' : kind, url }
}

/** One message object of any of the JSON shapes (parts, content string, content list, tool_calls). */
function messageFrom(raw: unknown, fallbackRole: string): Message | undefined {
  if (typeof raw === 'string') return { role: fallbackRole, content: raw, toolCalls: [], media: [] }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined
  const m = raw as Record<string, unknown>
  const message: Message = { role: text(m.role) || fallbackRole, content: '', toolCalls: [], media: [] }
  const texts: string[] = []
  const parts = Array.isArray(m.parts) ? m.parts : Array.isArray(m.content) ? m.content : undefined
  if (parts) {
    for (const part of parts) {
      if (typeof part === 'string') {
        texts.push(part)
        continue
      }
      if (!part || typeof part !== 'object') continue
      const p = part as Record<string, unknown>
      if (p.type === 'tool_call' || p.type === 'function_call') {
        message.toolCalls.push({ name: text(p.name), arguments: text(p.arguments) })
      } else if (p.type === 'tool_call_response') {
        texts.push(text(p.response ?? p.result))
      } else if (typeof p.content === 'string' || typeof p.text === 'string') {
        texts.push(text(p.content ?? p.text))
      } else {
        const media = mediaOf(p)
        if (media) message.media.push(media)
      }
    }
  } else if (m.content !== undefined) {
    texts.push(text(m.content))
  }
  const calls = Array.isArray(m.tool_calls) ? m.tool_calls : []
  for (const call of calls) {
    const c = (call ?? {}) as Record<string, unknown>
    const fn = (c.function ?? c) as Record<string, unknown>
    message.toolCalls.push({ name: text(fn.name), arguments: text(fn.arguments) })
  }
  message.content = texts.join('\n')
  return message
}

function messagesFrom(value: unknown, fallbackRole: string): Message[] {
  const parsed = structured(value)
  if (parsed === undefined || parsed === null || parsed === '') return []
  const list = Array.isArray(parsed) ? parsed : [parsed]
  return list.map((m) => messageFrom(m, fallbackRole)).filter((m): m is Message => m !== undefined)
}

/** Indexed keys `<prefix>.<N>.<rest>` grouped by N, in index order. */
function indexed(attributes: Attributes, prefix: string): Array<Record<string, unknown>> {
  const groups = new Map<number, Record<string, unknown>>()
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith(`${prefix}.`)) continue
    const rest = key.slice(prefix.length + 1)
    const dot = rest.indexOf('.')
    const n = Number(dot < 0 ? rest : rest.slice(0, dot))
    if (!Number.isInteger(n) || dot < 0) continue
    const group = groups.get(n) ?? {}
    group[rest.slice(dot + 1)] = value
    groups.set(n, group)
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g)
}

/** Flat `tool_calls.M.<path>` keys of one indexed message, as tool calls. */
function flatToolCalls(group: Record<string, unknown>, namePath: string, argsPath: string): ToolCall[] {
  const calls = indexed(group, 'tool_calls')
  return calls.map((c) => ({ name: text(c[namePath]), arguments: text(c[argsPath]) }))
}

function indexedMessages(attributes: Attributes, prefix: string, fallbackRole: string): Message[] {
  return indexed(attributes, prefix)
    .filter(
      (g) =>
        g.content !== undefined ||
        g.role !== undefined ||
        Object.keys(g).some((k) => k.startsWith('tool_calls.')),
    )
    .map((g) => ({
      role: text(g.role) || fallbackRole,
      content: text(g.content),
      toolCalls: flatToolCalls(g, 'name', 'arguments'),
      media: [],
    }))
}

function openInferenceMessages(attributes: Attributes, prefix: string, fallbackRole: string): Message[] {
  return indexed(attributes, prefix).map((g) => ({
    role: text(g['message.role']) || fallbackRole,
    content: text(g['message.content']),
    toolCalls: indexed(
      Object.fromEntries(
        Object.entries(g)
          .filter(([k]) => k.startsWith('message.tool_calls.'))
          .map(([k, v]) => [k.slice('message.'.length), v]),
      ),
      'tool_calls',
    ).map((c) => ({
      name: text(c['tool_call.function.name']),
      arguments: text(c['tool_call.function.arguments']),
    })),
    media: [],
  }))
}

const EVENT_ROLES: Record<string, string> = {
  'gen_ai.system.message': 'system',
  'gen_ai.user.message': 'user',
  'gen_ai.assistant.message': 'assistant',
  'gen_ai.tool.message': 'tool',
  'gen_ai.choice': 'assistant',
}

function eventMessages(events: ReadonlyArray<{ name: string; attributes: Attributes }>): Message[] {
  const out: Message[] = []
  for (const event of events) {
    const role = EVENT_ROLES[event.name]
    if (!role) continue
    const body = structured(event.attributes.message ?? event.attributes.body)
    const message = messageFrom(
      body ?? { role: event.attributes.role, content: event.attributes.content },
      role,
    )
    if (message) out.push(message)
  }
  return out
}

/** The span's conversation: its input messages, then its output messages. Empty when it records none. */
export function conversationOf(span: {
  attributes: Attributes
  events?: ReadonlyArray<{ name: string; attributes: Attributes }>
}): Message[] {
  const a = span.attributes
  const firstOf = (...candidates: Array<() => Message[]>): Message[] => {
    for (const candidate of candidates) {
      const messages = candidate()
      if (messages.length > 0) return messages
    }
    return []
  }
  const input = firstOf(
    () => messagesFrom(a['gen_ai.input.messages'], 'user'),
    () => indexedMessages(a, 'gen_ai.prompt', 'user'),
    () => messagesFrom(a['gen_ai.prompt'], 'user'),
    () => openInferenceMessages(a, 'llm.input_messages', 'user'),
    () => messagesFrom(a['input.value'], 'user'),
    () => messagesFrom(a['traceloop.entity.input'], 'user'),
  )
  const output = firstOf(
    () => messagesFrom(a['gen_ai.output.messages'], 'assistant'),
    () => indexedMessages(a, 'gen_ai.completion', 'assistant'),
    () => messagesFrom(a['gen_ai.completion'], 'assistant'),
    () => openInferenceMessages(a, 'llm.output_messages', 'assistant'),
    () => messagesFrom(a['output.value'], 'assistant'),
    () => messagesFrom(a['traceloop.entity.output'], 'assistant'),
  )
  if (input.length === 0 && output.length === 0) return eventMessages(span.events ?? [])
  return [...input, ...output]
}

/** A one-line preview of a span's input or output, for tables. */
export function previewOf(span: { attributes: Attributes }, side: 'input' | 'output', max = 80): string {
  const messages = conversationOf(span)
  const pick =
    side === 'input'
      ? messages.filter((m) => m.role !== 'assistant').at(-1)
      : messages.filter((m) => m.role === 'assistant').at(-1)
  const line = (
    pick?.content || (pick?.toolCalls.length ? `→ ${pick.toolCalls.map((c) => c.name).join(', ')}` : '')
  ).replace(/\s+/g, ' ')
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

/** The text an output value carries: a plain string as it is, JSON messages as their assistant text. */
export function outputText(value: unknown): string {
  const messages = messagesFrom(value, 'assistant')
  const structuredValue = typeof value !== 'string' || /^\s*[[{]/.test(value)
  if (!structuredValue) return text(value)
  const texts = messages.filter((m) => m.role === 'assistant' && m.content).map((m) => m.content)
  return texts.length > 0 ? texts.join('\n') : text(value)
}

/** A row field as text: a string as it is, JSON messages as `role: text` lines, other values as JSON. */
export function fieldText(value: unknown): string {
  const structuredValue = typeof value !== 'string' || /^\s*[[{]/.test(value)
  if (!structuredValue) return String(value)
  const messages = messagesFrom(value, 'user').filter((m) => m.content || m.toolCalls.length > 0)
  if (messages.length === 0) return typeof value === 'string' ? value : JSON.stringify(value)
  return messages
    .map((m) => `${m.role}: ${m.content}${m.toolCalls.map((c) => ` [tool call ${c.name}]`).join('')}`)
    .join('\n')
}
