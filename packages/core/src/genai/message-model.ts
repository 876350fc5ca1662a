/**
 * The one message model of a GenAI call, whatever instrumentation recorded it (see
 * extract-genai.ts for the sources). Plain JSON data, so a message list is also an
 * attribute value: rules match it, mappings store it, exports write it.
 *
 * A message is `{role, name?, parts}`; a part is text, a tool call, a tool result, or a
 * media reference. The system instructions are not a message of `input`: they are the
 * `system` text (an instrumentation that sends them as a `system` message has that message
 * moved there), so every convention gives the same `input`.
 */
import type { AttributeValue } from '../span-model.ts'

export interface TextPart {
  type: 'text'
  content: string
}

export interface ToolCallPart {
  type: 'tool_call'
  /** The call's id, '' when the instrumentation recorded none. */
  id: string
  name: string
  /** The arguments: parsed JSON when they were JSON text, else the text as sent. */
  arguments: AttributeValue
}

export interface ToolResultPart {
  type: 'tool_result'
  /** The id of the call this answers, '' when unknown. */
  id: string
  /** The tool's result: parsed JSON when it was JSON text, else the text. */
  result: AttributeValue
}

/** An image, a PDF (or other media) by URL, hosted file path or id, or inline data. */
export interface MediaPart {
  type: 'media'
  /** `image`, `pdf`, `audio`, `video` or `file`. */
  modality: string
  mime_type?: string
  /** An http(s) or data: URL. */
  url?: string
  /** A hosted file's id or path (an upload's file id). */
  path?: string
  /** Inline base64 data. */
  data?: string
}

export type Part = TextPart | ToolCallPart | ToolResultPart | MediaPart

export interface Message {
  /** `user`, `assistant`, `tool`, `system`, or what the instrumentation said. */
  role: string
  name?: string
  parts: Part[]
  /** Output messages: why the model stopped (`stop`, `tool_calls`, …). */
  finish_reason?: string
}

export interface ToolDefinition {
  name: string
  description?: string
  /** The parameters' JSON schema. */
  parameters?: AttributeValue
}

export interface TokenUsage {
  input_tokens?: number
  output_tokens?: number
}

/** Everything a span (with its events) says about one GenAI call. */
export interface GenAiContent {
  /** The messages sent to the model, without the system instructions. */
  input: Message[]
  /** The model's answer (the first choice first). */
  output: Message[]
  /** The system instructions' text ('' when none). */
  system: string
  tools: ToolDefinition[]
  requestModel?: string
  responseModel?: string
  finishReasons: string[]
  usage: TokenUsage
  /** A prompt template's variables (name → value). */
  promptVariables?: Record<string, AttributeValue>
  /** Which convention each part came from (`gen_ai.input.messages`, `llm.input_messages`, …). */
  sources: { input?: string; output?: string }
}

/** The text of a message: its text parts, one per line. */
export function messageText(message: Message): string {
  return message.parts
    .filter((p): p is TextPart => p.type === 'text')
    .map((p) => p.content)
    .join('\n')
}

/** The text of the last user message, undefined when there is no user text. */
export function lastUserText(messages: readonly Message[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!
    if (m.role !== 'user') continue
    const text = messageText(m)
    if (text !== '') return text
  }
  return undefined
}

/** The assistant's answer text: the first output message with text, undefined without one. */
export function assistantText(messages: readonly Message[]): string | undefined {
  for (const m of messages) {
    if (m.role !== 'assistant' && m.role !== 'model') continue
    const text = messageText(m)
    if (text !== '') return text
  }
  return undefined
}

/** Part of the model (messages, tool definitions) as an attribute value: it is plain JSON already. */
export function asAttributeValue(value: readonly Message[] | readonly ToolDefinition[]): AttributeValue {
  return value as unknown as AttributeValue
}
