/**
 * Everything the plugin keeps about one (agent, channel), as plain mutable data: the batch core
 * reads and moves it synchronously, per message, without an Effect. Held by the ChannelQueue
 * Layer, so it outlives socket sessions: a reconnect resumes from the same cursor, history and
 * pending bursts.
 */
import type { Channel, Message } from "../fabric/FabricContract.js"
import type { Binding } from "../profile/ProfileSchema.js"
import { Coalescer } from "./Coalescer.js"
import { Cursor } from "./Cursor.js"
import type { HandledRun } from "./HandledRun.js"
import { HistoryBuffer } from "./History.js"

/**
 * Handled ids a channel tracks between continuity checks before it asks for one early (it starts
 * when the channel pauses: EarlyCheck); at twice as many (a check that cannot keep up) the range
 * is given up as unverifiable, so memory stays bounded under any load (about 5 MB per channel at
 * most). A check re-reads what it covers, so it runs early only for a channel this busy: a
 * 20,000-message burst costs no history read.
 */
export const CHECK_EARLY_AT = 50_000

/** The conversation settings a channel's state is made with (config.json v1.1). */
export interface ConversationSettings {
  readonly history_limit: number
  readonly coalesce_ms: number
  readonly coalesce_max_messages: number
}

export class ChannelState {
  private listed: Channel
  /** Record-only messages for the next notification (`fabric.history`). */
  readonly history: HistoryBuffer<Message>
  /** Waking messages waiting for their burst to end (`coalesce_ms`). */
  readonly coalescer: Coalescer<Message>
  /** Arrival number of the last message, so a notification takes only the history before it. */
  seq = 0
  /** Arrival numbers of the messages pending in the coalescer. */
  readonly pendingSeq = new Map<string, number>()
  /** The cursor as last set; `lastHandled`, when set, is newer. */
  private position: Cursor
  /**
   * The last message handled since `position` was set: `handle` runs per message and only
   * records the id; the tagged `Cursor` is made when it is read (per batch at most).
   */
  private lastHandled: string | undefined
  /**
   * The last message known to be followed, in the node's history, only by messages this state
   * was given: the continuity check reads forward from here. Undefined until one is known.
   */
  checkedThrough: string | undefined
  /**
   * Ids handled since `checkedThrough` (live or caught up), in the order handled: a history
   * message not among them was never brought. An array, not a set: per message it is one push,
   * and a check walks it beside the history, which lists the same ids in the same order.
   */
  handled: Array<string> = []
  /** The ids a check under way compares against (`handled` restarts empty meanwhile). */
  checking: HandledRun | undefined
  /** An early check was asked for and has not started yet. */
  checkRequested = false
  /** Messages whose range was given up unchecked (see CHECK_EARLY_AT), for the operator. */
  unverified = 0
  /** The binding notifications of this channel go to; undefined: not looked up yet; null: none. */
  route: Binding | null | undefined
  /** The start of this channel's notification lines (Notification.inboundPrefix), once routed. */
  linePrefix: string | undefined

  constructor(
    readonly agentId: string,
    readonly guildNodeId: string,
    channel: Channel,
    cursor: Cursor,
    settings: ConversationSettings
  ) {
    this.listed = channel
    this.history = new HistoryBuffer(settings.history_limit)
    this.coalescer = new Coalescer(settings.coalesce_ms, settings.coalesce_max_messages)
    this.position = cursor
    this.checkedThrough = cursor._tag === "After" ? cursor.messageId : undefined
  }

  /** The channel as last listed (its `x_type` and name). */
  get channel(): Channel {
    return this.listed
  }

  set channel(channel: Channel) {
    this.listed = channel
    this.linePrefix = undefined
  }

  get channelId(): string {
    return this.listed.id
  }

  /** Where catch-up resumes. */
  get cursor(): Cursor {
    if (this.lastHandled !== undefined) {
      this.position = Cursor.After({ messageId: this.lastHandled })
      this.lastHandled = undefined
    }
    return this.position
  }

  set cursor(cursor: Cursor) {
    this.position = cursor
    this.lastHandled = undefined
  }

  /** A message handled in socket (or history) order: the cursor moves to it. */
  handle(messageId: string): void {
    this.lastHandled = messageId
    if (this.checkedThrough === undefined) {
      // Nothing before the first message handled can be checked: it anchors the range.
      this.checkedThrough = messageId
      return
    }
    this.handled.push(messageId)
    if (this.handled.length >= 2 * CHECK_EARLY_AT) {
      // Checks cannot keep up with this channel: give the range up rather than grow.
      this.unverified += this.handled.length
      this.verified(messageId)
    }
  }

  /** Everything up to `messageId` is verified: the next check starts there. */
  verified(messageId: string): void {
    this.checkedThrough = messageId
    this.handled = []
    this.checking = undefined
  }

  /** True when the ids handled since the last check call for one now. */
  get wantsCheck(): boolean {
    return !this.checkRequested && this.checking === undefined && this.handled.length >= CHECK_EARLY_AT
  }
}
