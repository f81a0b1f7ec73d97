/**
 * The handled ids a continuity check compares the history against, asked in history order.
 * While the two lists agree (the socket brought the node's messages in its order), each answer
 * is one comparison; at the first disagreement (a message the socket never brought, or one the
 * history does not hold yet) the ids not yet matched become a set, asked from then on.
 */
export class HandledRun {
  private next = 0
  private rest: Set<string> | undefined

  constructor(readonly ids: ReadonlyArray<string>) {}

  /** Whether the history's next message, `messageId`, was handled. */
  has(messageId: string): boolean {
    if (this.rest === undefined) {
      if (this.ids[this.next] === messageId) {
        this.next += 1
        return true
      }
      this.rest = new Set(this.ids.slice(this.next))
    }
    return this.rest.has(messageId)
  }
}
