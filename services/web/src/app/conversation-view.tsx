import type { GenAiContent, Message, Part } from './conversation.ts'

const json = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value))

/** A media part as a link: its URL, else its inline data as a data: URL, else its hosted path as text. */
function MediaLink({ part }: { part: Extract<Part, { type: 'media' }> }) {
  const label = `${part.modality}${part.mime_type ? ` (${part.mime_type})` : ''}`
  const href =
    part.url ??
    (part.data ? `data:${part.mime_type ?? 'application/octet-stream'};base64,${part.data}` : undefined)
  if (!href)
    return (
      <span class="media">
        {label}: {part.path ?? ''}
      </span>
    )
  const shown = part.url && !part.url.startsWith('data:') ? part.url : 'inline data'
  return (
    <a class="media" href={href} target="_blank" rel="noreferrer noopener">
      {label}: {shown}
    </a>
  )
}

function PartView({ part }: { part: Part }) {
  switch (part.type) {
    case 'text':
      return <div class="content">{part.content}</div>
    case 'tool_call':
      return (
        <div class="tool-call">
          <span class="tool-name">
            tool call: {part.name}
            {part.id && <span class="muted"> ({part.id})</span>}
          </span>
          <code>{json(part.arguments)}</code>
        </div>
      )
    case 'tool_result':
      return (
        <div class="tool-result">
          <span class="tool-name">tool result{part.id ? ` (${part.id})` : ''}</span>
          <code>{json(part.result)}</code>
        </div>
      )
    case 'media':
      return <MediaLink part={part} />
  }
}

/** Messages: one block per message, role (and name) first, then its parts in order. */
export function MessageList({ messages, label }: { messages: Message[]; label: string }) {
  return (
    <ol class="conversation" aria-label={label}>
      {messages.map((m, i) => (
        <li key={i} class={`message role-${m.role}`}>
          <span class="role">
            {m.role}
            {m.name ? ` · ${m.name}` : ''}
            {m.finish_reason ? <span class="muted"> · {m.finish_reason}</span> : null}
          </span>
          {m.parts.map((part, j) => (
            <PartView key={j} part={part} />
          ))}
        </li>
      ))}
    </ol>
  )
}

/**
 * A span's GenAI call: the system instructions, the tools offered, then the input and
 * output messages; the response model and token usage under them.
 */
export function ConversationView({ content }: { content: GenAiContent }) {
  const system: Message[] = content.system
    ? [{ role: 'system', parts: [{ type: 'text', content: content.system }] }]
    : []
  const messages = [...system, ...content.input, ...content.output]
  if (messages.length === 0) return <p class="muted">This span records no messages.</p>
  const usage = content.usage
  return (
    <div class="genai">
      {content.tools.length > 0 && (
        <details class="tools">
          <summary>Tools offered ({content.tools.map((t) => t.name).join(', ')})</summary>
          <ul>
            {content.tools.map((t) => (
              <li key={t.name}>
                <code>{t.name}</code>
                {t.description ? ` — ${t.description}` : ''}
                {t.parameters !== undefined && <code class="block">{json(t.parameters)}</code>}
              </li>
            ))}
          </ul>
        </details>
      )}
      <MessageList messages={messages} label="Conversation" />
      {(content.responseModel || usage.input_tokens !== undefined) && (
        <p class="muted">
          {content.responseModel && <>model {content.responseModel}</>}
          {usage.input_tokens !== undefined &&
            ` · ${usage.input_tokens} in / ${usage.output_tokens ?? 0} out tokens`}
        </p>
      )}
    </div>
  )
}

/** A span's attributes as a table. */
export function AttributesTable({
  attributes,
  caption,
}: {
  attributes: Record<string, unknown>
  caption: string
}) {
  const entries = Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b))
  return (
    <table class="attributes">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([key, value]) => (
          <tr key={key}>
            <th scope="row">{key}</th>
            <td>
              <code>{typeof value === 'string' ? value : JSON.stringify(value)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
