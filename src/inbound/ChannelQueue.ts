/**
 * The per-channel queue: the plain state of every (agent, channel) the plugin delivers in
 * (`ChannelState`: cursor, continuity), and the one hand-off of a decided batch to the host. A
 * channel costs a small object and no fiber: idle channels cost nothing but their cursor, and a
 * batch costs O(1) Effects whatever its size — one offer of all its lines to the stdout writer,
 * one metrics update — instead of a scope, a worker and a span per message.
 *
 * Every cursor a batch moved is handed to the CursorStore (durable delivery state, profile.md
 * v1.1), and a state made for a channel starts from the stored position when there is one.
 *
 * Order: a socket session decides and hands on its batches one after another, so each channel's
 * notifications reach the writer in the order they were decided; the writer keeps that order.
 */
import { Effect, type Metric, MetricLabel, Option, type Tracer } from "effect"
import type { Channel } from "../fabric/FabricContract.js"
import { HostApi } from "../host/HostApi.js"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { messagesDelivered, messagesDropped, messagesReceived } from "../telemetry/Metrics.js"
import { Attr, inboundRootOptions, SpanNames, tracing } from "../telemetry/Spans.js"
import { Batch, type DropReason } from "./Batch.js"
import { ChannelState } from "./ChannelState.js"
import { Cursor } from "./Cursor.js"
import { CursorStore } from "./CursorStore.js"
import { Typing } from "../presence/Typing.js"
import { releaseAll } from "./Decide.js"
import type { Recipient } from "./Notification.js"

const reasonTags = new Map<DropReason, ReadonlyArray<MetricLabel.MetricLabel>>()
const reasonTag = (reason: DropReason) => {
  let tags = reasonTags.get(reason)
  if (tags === undefined) {
    tags = [MetricLabel.make("reason", reason)]
    reasonTags.set(reason, tags)
  }
  return tags
}

const noTags: ReadonlyArray<MetricLabel.MetricLabel> = []

/** Counters move per batch, synchronously: exact, whatever the batch holds. */
const unsafeCount = (batch: Batch) => {
  if (batch.received > 0) (messagesReceived as Metric.Metric.Counter<number>).unsafeUpdate(batch.received, noTags)
  if (batch.delivered > 0) (messagesDelivered as Metric.Metric.Counter<number>).unsafeUpdate(batch.delivered, noTags)
  for (const [reason, n] of batch.dropped) (messagesDropped as Metric.Metric.Counter<number>).unsafeUpdate(n, reasonTag(reason))
}

/** Who a batch is for, and the span that received it (linked from the batch's span). */
export interface EmitContext {
  readonly recipient: Recipient
  readonly sessionLink: Option.Option<Tracer.SpanLink>
}

export class ChannelQueue extends Effect.Service<ChannelQueue>()("plexum-fabric/ChannelQueue", {
  scoped: Effect.gen(function*() {
    const host = yield* HostApi
    const store = yield* CursorStore
    const typing = yield* Typing
    const { config } = yield* ActiveProfile
    /**
     * Every state, by agent, guild node and channel: looked up per message with the ids as they
     * are (a string keeps its hash), no key string built per message.
     */
    const states = new Map<string, Map<string, Map<string, ChannelState>>>()
    const channelsOf = (agentId: string, guildNodeId: string): Map<string, ChannelState> => {
      let guilds = states.get(agentId)
      if (guilds === undefined) states.set(agentId, guilds = new Map())
      let channels = guilds.get(guildNodeId)
      if (channels === undefined) guilds.set(guildNodeId, channels = new Map())
      return channels
    }

    /**
     * After the batch's lines are handed on, in one synchronous step: the counters, and every
     * cursor the batch moved to the durable store (saved within a second).
     */
    const settle = (batch: Batch): void => {
      unsafeCount(batch)
      for (const state of batch.touched) {
        const cursor = state.cursor
        if (cursor._tag === "After") store.unsafeSet(state, cursor.messageId)
      }
    }

    /** The agent is shown typing where a notification was just written (one loop per channel). */
    const showTyping = (notified: ReadonlySet<ChannelState>): Effect.Effect<void> => {
      let starts: Effect.Effect<void> | undefined
      for (const state of notified) {
        const start = typing.notified(state.agentId, state.guildNodeId, state.channelId)
        starts = starts === undefined ? start : Effect.zipRight(starts, start)
      }
      return starts ?? Effect.void
    }

    /**
     * With spans exported, each batch is one `inbound.batch` span carrying the ids of its
     * messages and each one's outcome; without, no span object is made at all.
     */
    const traced = (batch: Batch, context: EmitContext, write: Effect.Effect<void>) =>
      batch.outcomes === undefined || batch.outcomes.length === 0
        ? write
        : Effect.withSpan(
          write,
          SpanNames.inboundBatch,
          inboundRootOptions(context.sessionLink, {
            [Attr.agent]: context.recipient.agentId,
            [Attr.guild]: context.recipient.guildNodeId,
            [Attr.source]: batch.source,
            [Attr.messages]: batch.outcomes.length,
            [Attr.delivered]: batch.delivered,
            [Attr.messageIds]: batch.outcomes.map(([id]) => id),
            [Attr.outcomes]: batch.outcomes.map(([, outcome]) => outcome)
          })
        )

    // A graceful stop releases every burst still waiting for its author to pause: their cursors
    // are past them already, so holding them back would lose them.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        const batch = new Batch("socket", false, 0)
        for (const guilds of states.values()) {
          for (const channels of guilds.values()) {
            for (const state of channels.values()) if (state.coalescer.size > 0) releaseAll(state, batch)
          }
        }
        return batch.lines.length === 0 ? Effect.void : host.inboundLines(batch.lines).pipe(Effect.zipRight(Effect.sync(() => unsafeCount(batch))))
      })
    )

    const logProblems = (batch: Batch) =>
      batch.notes.length === 0 && batch.problemCount === 0 ? Effect.void : Effect.zipRight(
        Effect.forEach(batch.notes, (note) => Effect.logInfo(note), { discard: true }),
        batch.problemCount === 0
          ? Effect.void
          : Effect.logWarning(
            batch.problems.join(" ") +
              (batch.problemCount > batch.problems.length ? ` (${batch.problemCount} such problems in this batch)` : "")
          )
      )

    return {
      /** The state of one (agent, channel), made with `initial` as its cursor on first use. */
      stateOf: (recipient: Recipient, channel: Channel, initial: () => Cursor): ChannelState => {
        const channels = channelsOf(recipient.agentId, recipient.guildNodeId)
        let state = channels.get(channel.id)
        if (state === undefined) {
          // A position stored by an earlier run wins: what was posted meanwhile is delivered.
          const stored = store.unsafeGet({ agentId: recipient.agentId, guildNodeId: recipient.guildNodeId, channelId: channel.id })
          state = new ChannelState(
            recipient.agentId,
            recipient.guildNodeId,
            channel,
            stored === undefined ? initial() : Cursor.After({ messageId: stored }),
            config
          )
          channels.set(channel.id, state)
        } else if (state.channel !== channel) {
          state.channel = channel
        }
        return state
      },
      /** The state of one (agent, channel), if it has one. */
      find: (agentId: string, guildNodeId: string, channelId: string): ChannelState | undefined =>
        states.get(agentId)?.get(guildNodeId)?.get(channelId),
      /** The agent left the channel: its state goes, so the map stays bounded by membership. */
      forget: (agentId: string, guildNodeId: string, channelId: string): void => {
        states.get(agentId)?.get(guildNodeId)?.delete(channelId)
      },
      /**
       * Hands a decided batch on: its lines to the stdout writer in one offer (suspending while
       * the writer is backed up, which holds the session back: backpressure), its counts to the
       * metrics, its problems to one log line.
       */
      emit: (batch: Batch, context: EmitContext): Effect.Effect<void> => {
        if (batch.isEmpty) return Effect.void
        const write = batch.lines.length === 0 ? Effect.void : host.inboundLines(batch.lines)
        return Effect.flatMap(traced(batch, context, write), () => {
          settle(batch)
          return batch.notified.size === 0 ? logProblems(batch) : Effect.zipRight(showTyping(batch.notified), logProblems(batch))
        })
      },
      /** True when spans are exported (the batch then records each message's outcome). */
      tracing
    } as const
  })
}) {}
