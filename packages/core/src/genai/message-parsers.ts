/**
 * Parsers from the message shapes instrumentations record into the message model:
 * the GenAI conventions' messages with `parts`, and OpenAI's chat format (the shape of
 * the older GenAI events' bodies, of OpenLLMetry's indexed attributes, and of request
 * bodies). Lenient on what they read: what is not understood is left out, never thrown.
 */
import type { AttributeValue } from '../span-model.ts'
import type { MediaPart, Message, Part, ToolDefinition } from './message-model.ts'

type Json = AttributeValue | undefined
type JsonObject = { [key: string]: AttributeValue }

export function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A string holding a JSON object or array, parsed; anything else as it is. */
export function parseJsonText(value: Json): Json {
  if (typeof value !== 'string') return value
  const first = value.charCodeAt(0)
  if (first !== 0x5b && first !== 0x7b) return value // '[' or '{'
  try {
    return JSON.parse(value) as AttributeValue
  } catch {
    return value
  }
}

const str = (value: Json): string | undefined => (typeof value === 'string' ? value : undefined)

/** A media part from a URL (http(s) or data:), its modality from the data URL's type. */
export function mediaFromUrl(url: string, modality?: string): MediaPart {
  const mime = /^data:([^;,]+)/i.exec(url)?.[1]?.toLowerCase()
  const kind = modality ?? (mime === 'application/pdf' ? 'pdf' : mime?.split('/')[0]) ?? 'image'
  return { type: 'media', modality: kind, ...(mime ? { mime_type: mime } : {}), url }
}

function modalityOf(modality: Json, mime: string | undefined): string {
  if (mime === 'application/pdf') return 'pdf'
  return str(modality) ?? mime?.split('/')[0] ?? 'file'
}

// --- GenAI conventions: messages with parts ----------------------------------------------

/** One part of the GenAI conventions (`text`, `tool_call`, `tool_call_response`, `blob`, `uri`, `file`). */
function semconvPart(raw: Json): Part | undefined {
  if (!isObject(raw)) return undefined
  const mime = str(raw.mime_type)
  switch (raw.type) {
    case 'text':
      return typeof raw.content === 'string' ? { type: 'text', content: raw.content } : undefined
    case 'tool_call':
      return {
        type: 'tool_call',
        id: str(raw.id) ?? '',
        name: str(raw.name) ?? '',
        arguments: parseJsonText(raw.arguments) ?? null,
      }
    case 'tool_call_response':
      return { type: 'tool_result', id: str(raw.id) ?? '', result: parseJsonText(raw.response) ?? null }
    case 'blob':
      return {
        type: 'media',
        modality: modalityOf(raw.modality, mime),
        ...(mime ? { mime_type: mime } : {}),
        data: str(raw.content) ?? '',
      }
    case 'uri':
      return typeof raw.uri === 'string'
        ? { ...mediaFromUrl(raw.uri, modalityOf(raw.modality, mime)), ...(mime ? { mime_type: mime } : {}) }
        : undefined
    case 'file':
      return {
        type: 'media',
        modality: modalityOf(raw.modality, mime),
        ...(mime ? { mime_type: mime } : {}),
        path: str(raw.file_id) ?? '',
      }
    default:
      return undefined // reasoning, server tool calls, generic parts: not conversation content
  }
}

/** A `gen_ai.input.messages` / `gen_ai.output.messages` value (array, or its JSON text). */
export function parseSemconvMessages(value: Json): Message[] | undefined {
  const parsed = parseJsonText(value)
  if (!Array.isArray(parsed)) return undefined
  const messages: Message[] = []
  for (const raw of parsed) {
    if (!isObject(raw) || typeof raw.role !== 'string') continue
    // Earlier drafts (and some instrumentations) wrote OpenAI's `content`/`tool_calls` instead of parts.
    const parts = Array.isArray(raw.parts)
      ? raw.parts.map(semconvPart).filter((p) => p !== undefined)
      : [
          ...openAiContentParts(raw.content, raw.role, str(raw.tool_call_id) ?? str(raw.id)),
          ...openAiToolCalls(raw.tool_calls),
        ]
    const message: Message = { role: raw.role, parts }
    if (typeof raw.name === 'string' && raw.name !== '') message.name = raw.name
    if (typeof raw.finish_reason === 'string') message.finish_reason = raw.finish_reason
    messages.push(message)
  }
  return messages
}

/** `gen_ai.system_instructions`: an array of parts (or its JSON text), or plain text. */
export function parseSystemInstructions(value: Json): string | undefined {
  const parsed = parseJsonText(value)
  if (typeof parsed === 'string') return parsed
  if (!Array.isArray(parsed)) return undefined
  const texts = parsed.map(semconvPart).flatMap((p) => (p?.type === 'text' ? [p.content] : []))
  return texts.length > 0 ? texts.join('\n') : undefined
}

/** Tool definitions: GenAI's flat `{type, name, description, parameters}` or OpenAI's `{type, function: {…}}`. */
export function parseToolDefinition(value: Json): ToolDefinition | undefined {
  const raw = parseJsonText(value)
  if (!isObject(raw)) return undefined
  const fn = isObject(raw.function) ? raw.function : raw
  const name = str(fn.name)
  if (name === undefined) return undefined
  const tool: ToolDefinition = { name }
  if (typeof fn.description === 'string') tool.description = fn.description
  const parameters = parseJsonText(fn.parameters)
  if (parameters !== undefined && parameters !== null) tool.parameters = parameters
  return tool
}

export function parseToolDefinitions(value: Json): ToolDefinition[] | undefined {
  const parsed = parseJsonText(value)
  if (!Array.isArray(parsed)) return undefined
  return parsed.map(parseToolDefinition).filter((t) => t !== undefined)
}

// --- OpenAI chat format -----------------------------------------------------------------

/** OpenAI's `content`: a string, or an array of `{type: text|image_url|file|…}` items. */
export function openAiContentParts(content: Json, role: string, toolCallId: string | undefined): Part[] {
  const value = role === 'tool' ? content : parseContentArray(content)
  if (role === 'tool') {
    if (value === undefined || value === null) return []
    return [{ type: 'tool_result', id: toolCallId ?? '', result: parseJsonText(value) ?? null }]
  }
  if (typeof value === 'string') return value === '' ? [] : [{ type: 'text', content: value }]
  if (!Array.isArray(value)) return []
  const parts: Part[] = []
  for (const item of value) {
    if (typeof item === 'string') parts.push({ type: 'text', content: item })
    if (!isObject(item)) continue
    if ((item.type === 'text' || item.type === 'input_text') && typeof item.text === 'string') {
      parts.push({ type: 'text', content: item.text })
    } else if (item.type === 'image_url') {
      const url = isObject(item.image_url) ? str(item.image_url.url) : str(item.image_url)
      if (url) parts.push(mediaFromUrl(url, 'image'))
    } else if (item.type === 'file' && isObject(item.file)) {
      const data = str(item.file.file_data)
      const id = str(item.file.file_id)
      if (data) parts.push(mediaFromUrl(data, data.startsWith('data:application/pdf') ? 'pdf' : 'file'))
      else if (id) parts.push({ type: 'media', modality: 'file', path: id })
    }
  }
  return parts
}

/** A `content` that is a JSON array held in a string stays text unless it is OpenAI content items. */
function parseContentArray(content: Json): Json {
  if (typeof content !== 'string' || !content.startsWith('[{')) return content
  const parsed = parseJsonText(content)
  return Array.isArray(parsed) && parsed.every((i) => isObject(i) && typeof i.type === 'string')
    ? parsed
    : content
}

/** OpenAI `tool_calls`: `[{id, type, function: {name, arguments}}]`. */
export function openAiToolCalls(toolCalls: Json): Part[] {
  const parsed = parseJsonText(toolCalls)
  if (!Array.isArray(parsed)) return []
  const parts: Part[] = []
  for (const call of parsed) {
    if (!isObject(call)) continue
    const fn = isObject(call.function) ? call.function : call
    parts.push({
      type: 'tool_call',
      id: str(call.id) ?? '',
      name: str(fn.name) ?? '',
      arguments: parseJsonText(fn.arguments) ?? null,
    })
  }
  return parts
}

/** One OpenAI chat message (`{role, content, tool_calls?, tool_call_id?, name?}`); `role` defaults. */
export function parseOpenAiMessage(raw: Json, defaultRole?: string): Message | undefined {
  if (!isObject(raw)) return undefined
  const role = str(raw.role) ?? defaultRole
  if (role === undefined) return undefined
  const parts = [
    ...openAiContentParts(raw.content, role, str(raw.tool_call_id) ?? str(raw.id)),
    ...openAiToolCalls(raw.tool_calls),
  ]
  const message: Message = { role, parts }
  if (typeof raw.name === 'string' && raw.name !== '') message.name = raw.name
  return message
}

/** A list of OpenAI chat messages (array, or its JSON text); undefined when it is not one. */
export function parseOpenAiMessages(value: Json): Message[] | undefined {
  const parsed = parseJsonText(value)
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined
  if (!parsed.every((m) => isObject(m) && typeof m.role === 'string')) return undefined
  return parsed.map((m) => parseOpenAiMessage(m)).filter((m) => m !== undefined)
}
