/**
 * A span's conversation for the pages, read by the core message model
 * (packages/core/src/genai): the same extraction that rules, mappings and exports use, so
 * the page shows what a row would store, whatever instrumentation made the span. Core is
 * pure (no I/O), so esbuild bundles it into the page; this file only adapts the API's span
 * JSON to it and turns stored row values back into messages.
 */
import { extractGenAi } from '@spansift/core/genai/extract-genai'
import type { GenAiContent, Message, Part } from '@spansift/core/genai/message-model'
import { messageText } from '@spansift/core/genai/message-model'
import { isObject, parseJsonText, parseOpenAiMessages } from '@spansift/core/genai/message-parsers'
import type { AttributeValue, Span } from '@spansift/core/span-model'

export type { GenAiContent, Message, Part }

/** The fields of the API's span JSON the extraction reads. */
export interface SpanContentJson {
  attributes: Record<string, unknown>
  events?: ReadonlyArray<{ name: string; attributes: Record<string, unknown> }>
}

/** The span's GenAI content: system instructions, tools, input and output messages. */
export function conversationOf(span: SpanContentJson): GenAiContent {
  // The extraction reads only `attributes` and `events` (name, attributes) of a span.
  return extractGenAi({ attributes: span.attributes, events: span.events ?? [] } as unknown as Span)
}

/** The conversation as one list: the system instructions first (as a `system` message), then input, output. */
export function messagesOf(content: GenAiContent): Message[] {
  const system: Message[] = content.system
    ? [{ role: 'system', parts: [{ type: 'text', content: content.system }] }]
    : []
  return [...system, ...content.input, ...content.output]
}

/**
 * A stored row value that holds a message list: the message model's (`{role, parts}`, what
 * the `input`/`output` aliases store), or OpenAI's chat messages; JSON text of either too.
 * Undefined for any other value.
 */
export function messagesIn(value: unknown): Message[] | undefined {
  const parsed = parseJsonText(value as AttributeValue)
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined
  if (!parsed.every((m) => isObject(m) && typeof m.role === 'string')) return undefined
  if (parsed.every((m) => isObject(m) && Array.isArray(m.parts))) return parsed as unknown as Message[]
  const messages = parseOpenAiMessages(parsed)
  return messages && messages.length > 0 ? messages : undefined
}

const text = (value: unknown): string =>
  value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value)

/** One line for a message: its text, else its tool calls and results. */
function messageLine(message: Message): string {
  const body = messageText(message)
  if (body) return body
  return message.parts
    .flatMap((p) =>
      p.type === 'tool_call'
        ? [`→ ${p.name}`]
        : p.type === 'tool_result'
          ? [`← ${text(p.result)}`]
          : p.type === 'media'
            ? [`[${p.modality}]`]
            : [],
    )
    .join(', ')
}

/** A one-line preview of a span's input (last non-assistant message) or output, for tables. */
export function previewOf(span: SpanContentJson, side: 'input' | 'output', max = 80): string {
  const content = conversationOf(span)
  const pick = side === 'input' ? content.input.at(-1) : content.output[0]
  const line = (pick ? messageLine(pick) : '').replace(/\s+/g, ' ')
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

/** The text an output value carries: a message list as its assistant text, anything else as text. */
export function outputText(value: unknown): string {
  const messages = messagesIn(value)
  if (!messages) return text(value)
  const texts = messages.filter((m) => m.role === 'assistant' || m.role === 'model').map(messageText)
  const joined = texts.filter((t) => t !== '').join('\n')
  return joined || text(value)
}

/** A row field as text: a message list as `role: text` lines, a string as it is, other values as JSON. */
export function fieldText(value: unknown): string {
  const messages = messagesIn(value)
  if (!messages) return text(value)
  return messages.map((m) => `${m.role}: ${messageLine(m)}`).join('\n')
}
