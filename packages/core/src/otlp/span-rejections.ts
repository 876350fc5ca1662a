/** At most this many distinct reasons are spelled out in the rejection message. */
const MAX_REASONS_LISTED = 5

/** Counts rejected spans by reason and words the partial-success message. */
export class SpanRejections {
  total = 0
  private readonly byReason = new Map<string, number>()

  add(reason: string, count: number): void {
    if (count === 0) return
    this.total += count
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + count)
  }

  /** e.g. "2 spans rejected: trace_id must be 16 bytes (got 15)". */
  message(): string {
    if (this.total === 0) return ''
    const head = `${this.total} ${this.total === 1 ? 'span' : 'spans'} rejected: `
    if (this.byReason.size === 1) return head + [...this.byReason.keys()][0]
    const parts: string[] = []
    for (const [reason, count] of this.byReason) {
      if (parts.length === MAX_REASONS_LISTED) {
        const more = this.byReason.size - MAX_REASONS_LISTED
        parts.push(`and ${more} more ${more === 1 ? 'reason' : 'reasons'}`)
        break
      }
      parts.push(`${reason} (${count} ${count === 1 ? 'span' : 'spans'})`)
    }
    return head + parts.join('; ')
  }
}
