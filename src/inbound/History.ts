/**
 * Record-only context (`fabric.history`, host-protocol.md v1.1): per (agent, channel), the
 * messages that were not delivered to the agent since its own last message there, newest
 * `history_limit` kept. The caller decides what is recorded (not its own messages, nothing the
 * wake policy refused) and tags each entry with the channel's arrival sequence number, so that a
 * delivery takes only what arrived before it: a message recorded after the newest message of a
 * burst that is still pending belongs to the next notification, not to that one.
 *
 * Plain synchronous code: it runs per message on the inbound hot path.
 */

interface Entry<M> {
  readonly seq: number
  readonly message: M
}

const EMPTY: ReadonlyArray<never> = []

export class HistoryBuffer<M extends { readonly id: string }> {
  private entries: Array<Entry<M>> = []

  /** `limit`: `history_limit`; 0 records nothing. */
  constructor(readonly limit: number) {}

  /** Records a message that was not delivered; `seq` is its arrival number in the channel. */
  record(message: M, seq: number): void {
    if (this.limit <= 0) return
    this.entries.push({ seq, message })
    if (this.entries.length > this.limit) this.entries.shift()
  }

  /** The agent's own message: what was recorded before it is no longer context. */
  clear(): void {
    if (this.entries.length > 0) this.entries = []
  }

  /** A recorded message that an edit now makes waking leaves the buffer. */
  remove(id: string): void {
    const at = this.entries.findIndex((entry) => entry.message.id === id)
    if (at >= 0) this.entries.splice(at, 1)
  }

  /**
   * Takes (removes and returns, oldest first) what was recorded before arrival number `seq`,
   * the newest message of the notification about to be written; later entries stay for the
   * next one. Each recorded message is thus carried by at most one notification.
   */
  takeBefore(seq: number): ReadonlyArray<M> {
    const entries = this.entries
    if (entries.length === 0 || !(entries[0]!.seq < seq)) return EMPTY
    const taken: Array<M> = []
    const kept: Array<Entry<M>> = []
    for (const entry of entries) {
      if (entry.seq < seq) taken.push(entry.message)
      else kept.push(entry)
    }
    this.entries = kept
    return taken
  }

  get size(): number {
    return this.entries.length
  }
}
