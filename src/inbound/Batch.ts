/**
 * What deciding one batch of events produced: the notification lines to write, in order, and
 * the counts the metrics take per batch. Filled synchronously by the decisions (Decide.ts), then
 * handed on with one Effect (ChannelQueue.emit).
 */
import type { Message } from "../fabric/FabricContract.js"
import type { ChannelState } from "./ChannelState.js"

export type DropReason =
  | "gated"
  | "duplicate"
  | "self"
  | "malformed"
  | "unrouted"
  | "unknown_channel"
  | "not_allowed"
  | "agent_loop"
  /** A waking message a catch-up read past `catchup_max_messages` (counted, and warned about). */
  | "catchup_cap"

/** Where the messages of a batch came from. `late`: a continuity check found them afterwards. */
export type BatchSource = "socket" | "catchup" | "late"

/** At most this many distinct problems are logged per batch; the rest are counted. */
const MAX_PROBLEMS = 3

export class Batch {
  /** Encoded `notifications/plexum/channel/inbound` lines, newline-terminated, in order. */
  readonly lines: Array<string> = []
  /** Message events decided (created, updated). */
  received = 0
  /** Messages carried by the notifications (a coalesced notification carries several). */
  delivered = 0
  readonly dropped = new Map<DropReason, number>()
  /** Channels whose cursor moved or that got a notification. */
  readonly touched = new Set<ChannelState>()
  /** Channels that got a notification (typing starts there). */
  readonly notified = new Set<ChannelState>()
  /** Info lines (a refused author, at most once an hour each). */
  readonly notes: Array<string> = []
  /** Warnings worth a log line, one per kind of problem; `problemCount` counts them all. */
  readonly problems: Array<string> = []
  problemCount = 0
  /** Waking messages of a catch-up page, coalesced when the page is done (Decide.flushCaughtUp). */
  readonly caughtUp: Array<Message> = []
  /** Set when deciding stopped at a message of a channel the session does not know. */
  unknownChannel: string | undefined
  /** `[message_id, outcome]` per message, kept only when spans are exported. */
  readonly outcomes: Array<readonly [string, string]> | undefined

  /** `nowMs`: when the batch is decided (coalescing windows, the agent-loop window, throttles). */
  constructor(readonly source: BatchSource, tracing: boolean, readonly nowMs: number) {
    this.outcomes = tracing ? [] : undefined
  }

  drop(reason: DropReason, messageId: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1)
    this.outcomes?.push([messageId, reason])
  }

  /** One notification `line`, carrying the messages of `burst`. */
  deliver(line: string, state: ChannelState, burst: ReadonlyArray<Message>): void {
    this.lines.push(line)
    this.delivered += burst.length
    this.notified.add(state)
    this.touched.add(state)
    if (this.outcomes !== undefined) for (const message of burst) this.outcomes.push([message.id, "delivered"])
  }

  problem(text: string): void {
    this.problemCount += 1
    if (this.problems.length < MAX_PROBLEMS && !this.problems.includes(text)) this.problems.push(text)
  }

  get isEmpty(): boolean {
    return this.received === 0 && this.lines.length === 0 && this.dropped.size === 0 && this.problemCount === 0 &&
      this.notes.length === 0
  }
}
