/**
 * Training rows as chat fine-tuning examples, in the format OpenAI's fine-tuning API
 * takes (one `{"messages": [...], "tools"?: [...]}` a line): system, user and assistant
 * messages, assistant tool calls (`tool_calls` with JSON-text arguments) and tool results
 * (`role: tool`, `tool_call_id`), images as `image_url` content items.
 */

import type { Message, Part, ToolDefinition } from '../genai/message-model.ts'
import { messageText } from '../genai/message-model.ts'
import {
  isObject,
  parseJsonText,
  parseOpenAiMessages,
  parseToolDefinitions,
} from '../genai/message-parsers.ts'
import type { AttributeValue } from '../span-model.ts'
import type { DatasetValue, RowBucket } from './dataset-model.ts'
import { isMediaReference } from './values.ts'

type ContentItem = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } }

/** One chat message of a fine-tuning example (OpenAI's chat format). */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool'
  content: string | ContentItem[] | null
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>
  tool_call_id?: string
}

/** A line of chat fine-tuning JSONL. */
export interface ChatExample {
  messages: ChatMessage[]
  tools?: Array<{
    type: 'function'
    function: { name: string; description?: string; parameters?: AttributeValue }
  }>
}

/** A row converted, or why it cannot be. */
export type ChatConversion = { ok: true; example: ChatExample } | { ok: false; reason: string }

const SYSTEM_KEYS = new Set(['system', 'system_prompt', 'instructions'])
const TOOLS_KEYS = new Set(['tools'])

/**
 * Converts a training row into a chat fine-tuning example: the prompt from the inputs (a
 * message list when one is there, the message model's or OpenAI's chat messages; else the
 * inputs' text as one user message), a `system`/`system_prompt`/`instructions` input as the
 * system message, a `tools` input as the tool definitions; the answer from the reviewer's
 * `expected_output` when set, else the row's expected outputs (their assistant messages,
 * tool calls included, or their text). A row without a user message or without an answer
 * cannot be converted: an example without both teaches nothing.
 */
export function rowToChatExample(row: {
  inputs: RowBucket
  expected_outputs: RowBucket
  expectedOutput: string | null
}): ChatConversion {
  const entries = Object.entries(row.inputs)
  const systemEntry = entries.find(([key]) => SYSTEM_KEYS.has(key))
  const toolsEntry = entries.find(([key]) => TOOLS_KEYS.has(key))
  const rest = entries.filter(([key]) => !SYSTEM_KEYS.has(key) && !TOOLS_KEYS.has(key))
  const prompt: Message[] = []
  let system = systemEntry ? text(systemEntry[1]) : undefined
  const conversation = rest.map(([, value]) => messagesIn(value)).find((m) => m !== undefined)
  if (conversation) {
    for (const m of conversation) {
      if (m.role === 'system' || m.role === 'developer') system ??= messageText(m)
      else prompt.push(m)
    }
    // A recorded conversation may already end with the model's answer; the answer comes from the row.
    while (prompt.at(-1)?.role === 'assistant') prompt.pop()
  } else if (rest.length === 1) {
    prompt.push(textMessage('user', text(rest[0]![1])))
  } else if (rest.length > 1) {
    prompt.push(textMessage('user', rest.map(([key, value]) => `${key}: ${text(value)}`).join('\n')))
  }
  const messages: ChatMessage[] = []
  if (system) messages.push({ role: 'system', content: system })
  messages.push(...prompt.flatMap(toChatMessages))
  if (!messages.some((m) => m.role === 'user')) return { ok: false, reason: 'no user message in the inputs' }
  const answer = assistantAnswer(row)
  if (answer.length === 0)
    return { ok: false, reason: 'no assistant answer (expected_output or expected_outputs)' }
  messages.push(...answer)
  const example: ChatExample = { messages }
  const tools = toolsEntry ? parseToolDefinitions(toolsEntry[1] as AttributeValue) : undefined
  if (tools && tools.length > 0) example.tools = tools.map(toChatTool)
  return { ok: true, example }
}

function assistantAnswer(row: { expected_outputs: RowBucket; expectedOutput: string | null }): ChatMessage[] {
  if (row.expectedOutput) return [{ role: 'assistant', content: row.expectedOutput }]
  const outputs = Object.values(row.expected_outputs)
  if (outputs.length === 0) return []
  // A recorded message list is the fullest answer (tool calls included); else the one text.
  const messages = outputs.map(messagesIn).find((m) => m !== undefined)
  if (messages)
    return messages.filter((m) => m.role === 'assistant' || m.role === 'model').flatMap(toChatMessages)
  if (outputs.length === 1) {
    const answer = text(outputs[0]!)
    return answer === '' ? [] : [{ role: 'assistant', content: answer }]
  }
  return [{ role: 'assistant', content: JSON.stringify(row.expected_outputs) }]
}

/** A value holding a message list: the message model's (`parts`), or OpenAI's chat messages; JSON text too. */
function messagesIn(value: DatasetValue): Message[] | undefined {
  const parsed = parseJsonText(value as AttributeValue)
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined
  if (parsed.every((m) => isObject(m) && typeof m.role === 'string' && Array.isArray(m.parts))) {
    return parsed as unknown as Message[]
  }
  return parseOpenAiMessages(parsed)
}

function textMessage(role: string, content: string): Message {
  return { role, parts: [{ type: 'text', content }] }
}

/** One model message as chat messages (a tool message has one per result). */
function toChatMessages(m: Message): ChatMessage[] {
  if (m.role === 'tool') {
    return m.parts
      .filter((p): p is Extract<Part, { type: 'tool_result' }> => p.type === 'tool_result')
      .map((p) => ({
        role: 'tool',
        tool_call_id: p.id,
        content: typeof p.result === 'string' ? p.result : JSON.stringify(p.result),
      }))
  }
  const role = m.role === 'assistant' || m.role === 'model' ? 'assistant' : 'user'
  const texts = m.parts.filter((p) => p.type === 'text').map((p) => p.content)
  const images = m.parts.flatMap((p) =>
    p.type === 'media' && p.modality === 'image' && (p.url || p.data)
      ? [p.url ?? `data:${p.mime_type ?? 'image/png'};base64,${p.data}`]
      : [],
  )
  const content: ChatMessage['content'] =
    images.length > 0 && role === 'user'
      ? [
          ...texts.map((t): ContentItem => ({ type: 'text', text: t })),
          ...images.map((url): ContentItem => ({ type: 'image_url', image_url: { url } })),
        ]
      : texts.length > 0
        ? texts.join('\n')
        : null
  const message: ChatMessage = { role, content }
  const calls = m.parts.filter((p): p is Extract<Part, { type: 'tool_call' }> => p.type === 'tool_call')
  if (role === 'assistant' && calls.length > 0) {
    message.tool_calls = calls.map((c) => ({
      id: c.id,
      type: 'function',
      function: {
        name: c.name,
        arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments ?? {}),
      },
    }))
  }
  if (message.content === null && !message.tool_calls) return []
  return [message]
}

function toChatTool(tool: ToolDefinition): NonNullable<ChatExample['tools']>[number] {
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      ...(tool.parameters !== undefined ? { parameters: tool.parameters } : {}),
    },
  }
}

function text(value: DatasetValue): string {
  if (isMediaReference(value)) return value.ref
  if (typeof value === 'string') return value
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}
