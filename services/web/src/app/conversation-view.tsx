import type { Message } from './conversation.ts'

/** A span's messages: one block per message, role first; tool calls and media links under it. */
export function ConversationView({ messages }: { messages: Message[] }) {
  if (messages.length === 0) return <p class="muted">This span records no messages.</p>
  return (
    <ol class="conversation" aria-label="Conversation">
      {messages.map((m, i) => (
        <li key={i} class={`message role-${m.role}`}>
          <span class="role">{m.role}</span>
          {m.content && <div class="content">{m.content}</div>}
          {m.toolCalls.map((call, j) => (
            <div key={j} class="tool-call">
              <span class="tool-name">tool call: {call.name}</span>
              <code>{call.arguments}</code>
            </div>
          ))}
          {m.media.map((media) => (
            <a key={media.url} class="media" href={media.url} target="_blank" rel="noreferrer noopener">
              {media.kind}: {media.url}
            </a>
          ))}
        </li>
      ))}
    </ol>
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
