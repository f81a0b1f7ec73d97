/**
 * What a guild node of the sim was asked for the agent's presence, typing and commands (v1.1),
 * in order, so tests and the demo can read what the plugin did; and the switch that makes the
 * node answer its typing route as a v1 node does (404 `not_found`).
 */
import { Schema } from "effect"

export const RecordedCall = Schema.Struct({
  route: Schema.Literal("putPresence", "startTyping", "putCommands"),
  user_id: Schema.String,
  at: Schema.String,
  status: Schema.optional(Schema.String),
  activity: Schema.optional(Schema.String),
  channel_id: Schema.optional(Schema.String),
  /** putCommands: the names registered. */
  commands: Schema.optional(Schema.Array(Schema.String)),
  /** The HTTP status the node answered. */
  answered: Schema.Number
})
export type RecordedCall = typeof RecordedCall.Type

export class CallLog {
  readonly calls: Array<RecordedCall> = []
  /** When false, `POST /api/channels/{id}/typing` answers 404 `not_found`, as a v1 node. */
  typingSupported = true

  record(call: Omit<RecordedCall, "at">, now: number): void {
    this.calls.push({ ...call, at: new Date(now).toISOString() })
  }
}
