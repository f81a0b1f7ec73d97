/**
 * Burst coalescing (host-protocol.md v1.1), per channel: waking messages of one author that
 * arrive less than `coalesce_ms` apart become one notification, released when the author has
 * been quiet `coalesce_ms`, at the latest `4 × coalesce_ms` after the burst's first message, or
 * as soon as it holds `coalesce_max_messages` (the next message starts a new burst). A message
 * with a `command` is never merged: the author's pending burst is released first, then the
 * command alone. `coalesce_ms` 0: every message is its own notification.
 *
 * Plain synchronous state with the time passed in: the channel's queue owns one Coalescer,
 * arms one timer at `nextDeadline()` and calls `due` when it fires.
 */
import type { Attachment, Command } from "../fabric/FabricContract.js"

/** What coalescing looks at in a message. */
export interface Coalescible {
  readonly id: string
  readonly author_id: string
  readonly command?: Command | null
}

/** Messages of one author, oldest first, that become one notification. */
export type Burst<M> = ReadonlyArray<M>

/** A burst's latest release: this many windows after its first message. */
export const MAX_WINDOWS = 4

interface Pending<M> {
  readonly messages: Array<M>
  readonly firstMs: number
  lastMs: number
}

const NONE: ReadonlyArray<never> = []

export class Coalescer<M extends Coalescible> {
  /** Pending bursts by author, in the order they started. */
  private readonly pending = new Map<string, Pending<M>>()

  constructor(readonly windowMs: number, readonly maxMessages: number) {}

  /** A waking message arrives at `nowMs`; returns the bursts it releases, in delivery order. */
  offer(message: M, nowMs: number): ReadonlyArray<Burst<M>> {
    if (this.windowMs <= 0) return [[message]]
    const author = message.author_id
    const open = this.pending.get(author)
    if (message.command != null) {
      if (open === undefined) return [[message]]
      this.pending.delete(author)
      return [open.messages, [message]]
    }
    if (open !== undefined) {
      if (nowMs - open.lastMs < this.windowMs && nowMs - open.firstMs < MAX_WINDOWS * this.windowMs) {
        open.messages.push(message)
        open.lastMs = nowMs
        if (open.messages.length < this.maxMessages) return NONE
        this.pending.delete(author)
        return [open.messages]
      }
      // Past its deadline (the timer has not fired yet): it goes first, the message starts anew
      // (at the end of the start order).
      this.pending.delete(author)
      this.start(message, nowMs)
      return [open.messages]
    }
    if (this.maxMessages <= 1) return [[message]]
    this.start(message, nowMs)
    return NONE
  }

  /** The bursts whose author has been quiet a window, or whose first message is 4 windows old. */
  due(nowMs: number): ReadonlyArray<Burst<M>> {
    let released: Array<Burst<M>> | undefined
    for (const [author, open] of this.pending) {
      if (nowMs < this.deadlineOf(open)) continue
      this.pending.delete(author)
      ;(released ??= []).push(open.messages)
    }
    return released ?? NONE
  }

  /** When the earliest pending burst is due; `undefined` when nothing is pending. */
  nextDeadline(): number | undefined {
    let next: number | undefined
    for (const open of this.pending.values()) {
      const at = this.deadlineOf(open)
      if (next === undefined || at < next) next = at
    }
    return next
  }

  /** Every pending burst, in the order they started (a stop, or the channel going idle). */
  flushAll(): ReadonlyArray<Burst<M>> {
    if (this.pending.size === 0) return NONE
    const released = Array.from(this.pending.values(), (open) => open.messages)
    this.pending.clear()
    return released
  }

  /** Authors with a pending burst. */
  get size(): number {
    return this.pending.size
  }

  private start(message: M, nowMs: number): void {
    this.pending.set(message.author_id, { messages: [message], firstMs: nowMs, lastMs: nowMs })
  }

  private deadlineOf(open: Pending<M>): number {
    return Math.min(open.lastMs + this.windowMs, open.firstMs + MAX_WINDOWS * this.windowMs)
  }
}

/**
 * A catch-up run coalesced by the same rule, with `created_at` as the arrival time: consecutive
 * messages of one author (oldest first, as the run is) less than `windowMs` apart, at most
 * `4 × windowMs` after the first and at most `maxMessages` per burst; a command alone. A
 * message whose time cannot be read is not merged.
 */
export const catchUpBursts = <M extends Coalescible & { readonly created_at: string }>(
  messages: ReadonlyArray<M>,
  windowMs: number,
  maxMessages: number
): Array<Burst<M>> => {
  if (windowMs <= 0 || maxMessages <= 1) return messages.map((m) => [m])
  const bursts: Array<Array<M>> = []
  let current: Array<M> | undefined
  let firstMs = 0
  let lastMs = 0
  for (const message of messages) {
    const at = Date.parse(message.created_at)
    const joins = current !== undefined &&
      message.command == null &&
      current[0]!.author_id === message.author_id &&
      at - lastMs < windowMs &&
      at - firstMs < MAX_WINDOWS * windowMs
    let burst: Array<M>
    if (joins) {
      burst = current!
      burst.push(message)
      lastMs = at
    } else {
      burst = [message]
      bursts.push(burst)
      firstMs = lastMs = at
    }
    // A command, an unreadable time or a full burst closes it: nothing joins it.
    current = message.command != null || Number.isNaN(at) || burst.length >= maxMessages ? undefined : burst
  }
  return bursts
}

/** The parts of a notification a burst sets (host-protocol.md v1.1, Coalescing). */
export interface MergedBurst<M> {
  /** Every other `fabric` field describes the newest message. */
  readonly newest: M
  /** The contents joined with "\n", oldest first. */
  readonly message: string
  /** All attachments, in order; absent when none. */
  readonly attachments?: ReadonlyArray<Attachment>
  /** The earlier message ids, oldest first; absent for a single message. */
  readonly coalesced_message_ids?: ReadonlyArray<string>
}

export const mergeBurst = <
  M extends { readonly id: string; readonly content: string; readonly attachments?: ReadonlyArray<Attachment> }
>(burst: Burst<M>): MergedBurst<M> => {
  const newest = burst[burst.length - 1]!
  if (burst.length === 1) {
    return newest.attachments && newest.attachments.length > 0
      ? { newest, message: newest.content, attachments: newest.attachments }
      : { newest, message: newest.content }
  }
  const attachments = burst.flatMap((m) => m.attachments ?? [])
  return {
    newest,
    message: burst.map((m) => m.content).join("\n"),
    ...(attachments.length > 0 ? { attachments } : {}),
    coalesced_message_ids: burst.slice(0, -1).map((m) => m.id)
  }
}
