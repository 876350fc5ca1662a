import type { DatasetValue, RowBucket } from './dataset-model.ts'
import { isMediaReference } from './values.ts'

/** One chat message of a fine-tuning example. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool'
  content: string
}

/** A line of chat fine-tuning JSONL. */
export interface ChatExample {
  messages: ChatMessage[]
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool'])
const SYSTEM_KEYS = new Set(['system', 'system_prompt', 'instructions'])

/**
 * Converts a training row into a chat fine-tuning example (`{"messages": [...]}`):
 * the prompt from the inputs (a chat-message array when one is there, else the
 * inputs as one user message, a `system`/`system_prompt`/`instructions` input as the
 * system message), the answer from the reviewer's `expected_output` when set, else the
 * row's expected outputs. A row with no prompt or no answer yields undefined: an
 * example without an assistant turn teaches nothing.
 */
export function rowToChatExample(row: {
  inputs: RowBucket
  expected_outputs: RowBucket
  expectedOutput: string | null
}): ChatExample | undefined {
  const messages: ChatMessage[] = []
  const inputEntries = Object.entries(row.inputs)
  const system = inputEntries.find(([key]) => SYSTEM_KEYS.has(key))
  const rest = inputEntries.filter(([key]) => !SYSTEM_KEYS.has(key))
  if (system) messages.push({ role: 'system', content: text(system[1]) })
  const conversation = rest.map(([, value]) => chatMessages(value)).find((m) => m !== undefined)
  if (conversation) {
    messages.push(...conversation.filter((m, i) => !(m.role === 'system' && (system || i > 0))))
    // A recorded conversation may already end with the model's answer; the answer comes from the row.
    while (messages.at(-1)?.role === 'assistant') messages.pop()
  } else if (rest.length === 1) {
    messages.push({ role: 'user', content: text(rest[0]![1]) })
  } else if (rest.length > 1) {
    messages.push({ role: 'user', content: rest.map(([key, value]) => `${key}: ${text(value)}`).join('\n') })
  }
  if (!messages.some((m) => m.role === 'user')) return undefined
  const answer = assistantAnswer(row)
  if (answer === undefined || answer === '') return undefined
  messages.push({ role: 'assistant', content: answer })
  return { messages }
}

function assistantAnswer(row: {
  expected_outputs: RowBucket
  expectedOutput: string | null
}): string | undefined {
  if (row.expectedOutput) return row.expectedOutput
  const outputs = Object.values(row.expected_outputs)
  if (outputs.length === 0) return undefined
  if (outputs.length === 1) {
    const messages = chatMessages(outputs[0]!)
    const last = messages?.filter((m) => m.role === 'assistant').at(-1)
    return last ? last.content : text(outputs[0]!)
  }
  return JSON.stringify(row.expected_outputs)
}

/** A value holding a chat transcript (JSON array of `{role, content}`), as messages. */
function chatMessages(value: DatasetValue): ChatMessage[] | undefined {
  if (typeof value !== 'string' || !value.startsWith('[')) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return undefined
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined
  const messages: ChatMessage[] = []
  for (const entry of parsed) {
    if (typeof entry !== 'object' || entry === null) return undefined
    const { role, content } = entry as { role?: unknown; content?: unknown }
    if (typeof role !== 'string' || !ROLES.has(role)) return undefined
    messages.push({
      role: role as ChatMessage['role'],
      content: typeof content === 'string' ? content : JSON.stringify(content ?? ''),
    })
  }
  return messages
}

function text(value: DatasetValue): string {
  if (isMediaReference(value)) return value.ref
  return typeof value === 'string' ? value : String(value)
}
