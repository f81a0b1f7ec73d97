/**
 * Catch-up: a guild node does not replay the events a socket missed while it was down, so after
 * every (re)connect, and for every channel a re-sync discovers, the plugin reads the history it
 * missed (`GET /api/channels/{id}/messages`) and decides it with the same functions as live
 * events, page by page, each page one batch. Where it starts is the channel's cursor:
 *
 * - `After(id)`: forward from the last message handled there: only what was missed is read;
 * - `NewSince(t)`: back from the newest message to the first one Fabric stamped before `t`
 *   (a first run: what was posted since the plugin started is new, older history is not);
 * - `Beginning`: back from the newest, at most `catchup_max_messages` (a channel joined while
 *   the plugin ran, or `replay_on_start`).
 *
 * `catchup_max_messages` bounds the messages one catch-up delivers per channel; beyond it the
 * rest is read only to count them, and one warning says exactly how many waking messages were
 * not delivered. The session holds live events back while a catch-up runs, so each channel
 * keeps its order; Dedup drops what both paths saw. See docs/guarantees.md.
 */
import { Clock, Effect } from "effect"
import { FabricApi, type GuildRef, type HistoryQuery } from "../fabric/FabricApi.js"
import { type Channel, HISTORY_LIMIT_MAX, type Message, type MessagePage } from "../fabric/FabricContract.js"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { FiberRegistry } from "../telemetry/FiberRegistry.js"
import { Batch } from "./Batch.js"
import type { ChannelState } from "./ChannelState.js"
import { Cursor } from "./Cursor.js"
import { decideMessage, flushCaughtUp, releaseAll, type SessionView, skipMessage } from "./Decide.js"
import { perNode } from "../fabric/FairPermits.js"
import { annotateSpan, fnWhileTracing, withSpanWhileTracing } from "../telemetry/Spans.js"

/** What a catch-up needs of the socket session it runs for. */
export interface CatchUpSession {
  readonly ref: GuildRef
  readonly view: SessionView
  readonly tracing: boolean
  readonly emit: (batch: Batch) => Effect.Effect<void>
}

interface ChannelStats {
  readonly pages: number
  readonly delivered: number
  /** Waking messages left undelivered by the cap. */
  readonly overCap: number
  readonly failed: number
}
const noStats: ChannelStats = { pages: 0, delivered: 0, overCap: 0, failed: 0 }
const addStats = (a: ChannelStats, b: ChannelStats): ChannelStats => ({
  pages: a.pages + b.pages,
  delivered: a.delivered + b.delivered,
  overCap: a.overCap + b.overCap,
  failed: a.failed + b.failed
})

const channelLabel = (channel: Channel) => `"${channel.name}" (${channel.id})`

/**
 * Walks back from the newest message, page by page (`before=`), until `enough` says the
 * messages read so far reach back far enough, the channel's beginning, or `max` messages.
 * Returns them oldest first, and whether the walk reached something older than it needed.
 */
export const walkBack = <E>(
  pageBefore: (before: string | undefined) => Effect.Effect<MessagePage, E>,
  enough: (oldestPage: ReadonlyArray<Message>) => boolean,
  max: number
): Effect.Effect<{ readonly messages: ReadonlyArray<Message>; readonly pages: number }, E> =>
  Effect.gen(function*() {
    let messages: Array<Message> = []
    let pages = 0
    let before: string | undefined = undefined
    while (true) {
      const page: MessagePage = yield* pageBefore(before)
      pages += 1
      messages = page.messages.concat(messages)
      if (!page.has_more || page.messages.length === 0 || enough(page.messages) || messages.length >= max) {
        return { messages, pages }
      }
      before = page.messages[0]!.id
    }
  })

export class CatchUp extends Effect.Service<CatchUp>()("plexum-fabric/CatchUp", {
  effect: Effect.gen(function*() {
    const api = yield* FabricApi
    const registry = yield* FiberRegistry
    const { config } = yield* ActiveProfile
    const cap = config.catchup_max_messages

    // One per guild node, shared by every agent: politeness is owed to the node, not the agent.
    const permitsOf = perNode(config.catchup_concurrency)
    const history = (ref: GuildRef, channelId: string, query: HistoryQuery) =>
      permitsOf(ref.guildNodeId).withPermit(api.listMessages(ref, channelId, { limit: HISTORY_LIMIT_MAX, ...query }))

    /**
     * Decides `messages` (oldest first) as one batch, delivering while the channel's budget
     * lasts and only counting past it. Returns the waking messages the cap left undelivered.
     */
    const decidePage = (session: CatchUpSession, state: ChannelState, channel: Channel, messages: ReadonlyArray<Message>, budget: { left: number }) =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMs) => {
        const batch = new Batch("catchup", session.tracing, nowMs)
        // A burst still pending from before the drop is older than anything read now.
        if (state.coalescer.size > 0) {
          releaseAll(state, batch)
          session.view.pending.delete(state)
        }
        let overCap = 0
        for (const message of messages) {
          if (budget.left > 0) {
            // Counted in messages delivered (or held for a coalesced burst of this page).
            const before = batch.delivered + batch.caughtUp.length
            decideMessage(session.view, state, channel, message, batch)
            budget.left -= batch.delivered + batch.caughtUp.length - before
          } else if (skipMessage(session.view, state, channel, message, batch)) {
            overCap += 1
          }
        }
        flushCaughtUp(state, batch)
        return session.emit(batch).pipe(Effect.as({ delivered: batch.delivered, overCap }))
      })

    /** Forward from the last message handled: reads exactly what was missed. */
    const forward = (session: CatchUpSession, state: ChannelState, channel: Channel, from: string) =>
      Effect.gen(function*() {
        const verifiedUpToCursor = state.checkedThrough === from
        const budget = { left: cap }
        let stats = noStats
        let after = from
        while (true) {
          const page = yield* history(session.ref, channel.id, { after })
          const decided = yield* decidePage(session, state, channel, page.messages, budget)
          stats = addStats(stats, { pages: 1, delivered: decided.delivered, overCap: decided.overCap, failed: 0 })
          if (!page.has_more || page.messages.length === 0) break
          after = page.messages.at(-1)!.id
        }
        // What this walk read was complete; with nothing unverified before it, the continuity
        // check can start from here.
        if (verifiedUpToCursor && state.cursor._tag === "After") state.verified(state.cursor.messageId)
        return stats
      })

    /** Back from the newest message: a first run (`NewSince`) or a new channel (`Beginning`). */
    const backward = (session: CatchUpSession, state: ChannelState, channel: Channel, since: number | undefined) =>
      Effect.gen(function*() {
        const isNew = (message: Message) => since === undefined || Date.parse(message.created_at) > since
        const walked = yield* walkBack(
          (before) => history(session.ref, channel.id, before === undefined ? {} : { before }),
          (oldest) => oldest.length > 0 && !isNew(oldest[0]!),
          cap
        )
        const fresh = walked.messages.filter(isNew)
        const newestOld = walked.messages.slice(0, walked.messages.length - fresh.length).at(-1)
        if (newestOld !== undefined) {
          // History up to here is old: the cursor and the continuity check start after it.
          state.cursor = Cursor.After({ messageId: newestOld.id })
          state.verified(newestOld.id)
        }
        const decided = yield* decidePage(session, state, channel, fresh.slice(-cap), { left: cap })
        return { ...noStats, pages: walked.pages, delivered: decided.delivered }
      })

    const catchUpChannel = (session: CatchUpSession, channel: Channel) =>
      Effect.suspend(() => {
        const state = session.view.stateOf(channel)
        const cursor = state.cursor
        return Cursor.$match(cursor, {
          After: ({ messageId }) => forward(session, state, channel, messageId),
          NewSince: ({ instantMs }) => backward(session, state, channel, config.replay_on_start ? undefined : instantMs),
          Beginning: () => backward(session, state, channel, undefined)
        })
      }).pipe(
        Effect.tap((stats) => annotateSpan({ ...stats })),
        Effect.tap((stats) =>
          stats.overCap === 0 ? Effect.void : Effect.logWarning(
            `Catch-up of channel ${channelLabel(channel)} delivered ${stats.delivered} missed messages and left ` +
              `${stats.overCap} waking message${stats.overCap === 1 ? "" : "s"} undelivered: catchup_max_messages (${cap}) ` +
              `in config.json was reached. Raise it to deliver every missed message after a long disconnection.`
          ).pipe(Effect.annotateLogs({ channel: channel.id, undelivered: stats.overCap }))
        ),
        withSpanWhileTracing("inbound.catchup", {
          attributes: { agent: session.ref.agentId, guild: session.ref.guildNodeId, channel: channel.id }
        }),
        // 429 and 5xx were already retried by FabricApi; 403/404 will not change by retrying.
        // The cursor moved only past what was decided: the next reconnect resumes from there.
        Effect.catchAll((error) =>
          Effect.logWarning(
            `Catch-up of channel ${channelLabel(channel)} gave up: ${error.message} ` +
              `The messages it did not reach are caught up at the next reconnect.`
          ).pipe(Effect.annotateLogs({ channel: channel.id, reason: error.reason }), Effect.as({ ...noStats, failed: 1 }))
        )
      )

    /** Catches up `channels` for one socket session, `catchup_concurrency` at a time per guild node. */
    const run = fnWhileTracing("CatchUp.run")(Effect.fnUntraced(function*(session: CatchUpSession, channels: ReadonlyArray<Channel>) {
      const { agentId, guildNodeId } = session.ref
      yield* annotateSpan({ agent: agentId, guild: guildNodeId, channels: channels.length })
      const tracked = yield* registry.track({ kind: "catchup", agent_id: agentId, guild_node_id: guildNodeId, state: "catching up" })
      const stats = yield* Effect.forEach(
        channels,
        (channel) => tracked.update({ channel_id: channel.id }).pipe(Effect.zipRight(catchUpChannel(session, channel))),
        // One channel (a guild with a single channel, a re-sync that found one) needs no fiber of its own.
        { concurrency: channels.length > 1 ? config.catchup_concurrency : 1 }
      )
      const total = stats.reduce(addStats, noStats)
      yield* annotateSpan({ ...total })
      if (total.delivered > 0 || total.failed > 0) {
        yield* Effect.logInfo(
          `Catch-up for agent ${agentId} in guild ${guildNodeId}: ${total.delivered} missed message` +
            `${total.delivered === 1 ? "" : "s"} delivered from ${channels.length} channel${channels.length === 1 ? "" : "s"} ` +
            `(${total.pages} history page${total.pages === 1 ? "" : "s"})` +
            (total.failed > 0 ? `; ${total.failed} channel${total.failed === 1 ? "" : "s"} failed.` : ".")
        )
      }
    }, Effect.scoped, Effect.annotateLogs({ service: "CatchUp" })))

    return { run } as const
  })
}) {}
