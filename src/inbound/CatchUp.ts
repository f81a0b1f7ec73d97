/**
 * Catch-up: a guild node does not replay the events a socket missed while it was down, so after
 * every (re)connect, and for every channel a re-sync discovers, the plugin reads the history it
 * missed (`GET /api/channels/{id}/messages`) and feeds it through the same pipeline as live
 * events. The pipeline's Dedup drops what both paths saw; the caller holds live events back
 * while a run is under way, so each channel keeps its posting order. See docs/guarantees.md.
 */
import { Clock, Effect, Option } from "effect"
import { FabricApi, type GuildRef, type HistoryQuery } from "../fabric/FabricApi.js"
import { HISTORY_LIMIT_MAX, type Channel, type Message, type MessagePage } from "../fabric/FabricContract.js"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { FiberRegistry } from "../telemetry/FiberRegistry.js"
import { LastSeen } from "./LastSeen.js"

export interface CatchUpParams {
  readonly agentId: string
  readonly guildNodeId: string
  readonly channels: ReadonlyArray<Channel>
  /** The first successful connect since the plugin started: history before it is not new. */
  readonly firstConnect: boolean
  readonly deliver: (message: Message, channel: Channel) => Effect.Effect<void>
}

/** One live `message.created`, before the pipeline sees it. */
export interface LiveParams {
  readonly agentId: string
  readonly guildNodeId: string
  readonly channel: Channel
  readonly message: Message
  /** The pipeline would deliver it (wake gate passed, not the agent's own message). */
  readonly wakes: boolean
  readonly deliver: (message: Message, channel: Channel) => Effect.Effect<void>
}

/**
 * Pages a walk back may read past the cap, only to tell the operator how many messages it
 * skipped; beyond them the warning says "at least".
 */
export const SKIP_COUNT_PAGES = 2

/** What a walk back from the newest message found. */
export interface Missed {
  /** The newest messages after the watermark, oldest first; at most the cap. */
  readonly messages: ReadonlyArray<Message>
  /** Missed messages left out because of the cap. */
  readonly skipped: number
  /** False when the walk stopped before the watermark: `skipped` is then a lower bound. */
  readonly skippedExact: boolean
  readonly pages: number
  readonly fetched: number
}

/**
 * Walks back from the newest message, page by page (`before=`), until it meets `since` (the
 * last message seen), the channel's beginning, or the cap plus a small counting budget. Paging
 * backwards keeps a long gap cheap: the newest `cap` messages are what gets delivered, and the
 * older ones are never all read.
 */
export const walkBack = <E>(
  pageBefore: (before: string | undefined) => Effect.Effect<MessagePage, E>,
  since: Option.Option<string>,
  cap: number
): Effect.Effect<Missed, E> =>
  Effect.gen(function*() {
    const countBudget = cap + SKIP_COUNT_PAGES * HISTORY_LIMIT_MAX
    let kept: Array<Message> = []
    let total = 0
    let pages = 0
    let fetched = 0
    let before: string | undefined = undefined
    while (true) {
      const page: MessagePage = yield* pageBefore(before)
      pages += 1
      fetched += page.messages.length
      const at = Option.isSome(since) ? page.messages.findIndex((m) => m.id === since.value) : -1
      const newer = at >= 0 ? page.messages.slice(at + 1) : page.messages
      total += newer.length
      kept = newer.concat(kept)
      if (kept.length > cap) kept = kept.slice(kept.length - cap)
      const reachedWatermark = at >= 0 || !page.has_more || page.messages.length === 0
      if (reachedWatermark || total >= countBudget) {
        return { messages: kept, skipped: total - kept.length, skippedExact: reachedWatermark, pages, fetched }
      }
      before = page.messages[0]!.id
    }
  })

/** Where a live message stands relative to the watermark. */
export type Continuity =
  /**
   * The messages after the watermark up to and including the live one, oldest first, and the
   * ones after it on the same page (already posted, not yet seen live).
   */
  | { readonly _tag: "Found"; readonly messages: ReadonlyArray<Message>; readonly ahead: ReadonlyArray<Message> }
  /** Not after the watermark: a catch-up already handed it over (Dedup decides). */
  | { readonly _tag: "Covered" }
  /** More than the cap after the watermark and the live one not among them. */
  | { readonly _tag: "TooFar" }

/**
 * Reads forward from the watermark (`after=`) until it meets the live message `target`: what
 * it passes is what the socket did not bring (a node that dropped events without dropping the
 * socket). Usually one call that returns the live message alone.
 */
export const walkForward = <E>(
  pageAfter: (after: string) => Effect.Effect<MessagePage, E>,
  since: string,
  target: string,
  cap: number
): Effect.Effect<Continuity, E> =>
  Effect.gen(function*() {
    let passed: Array<Message> = []
    let after = since
    while (true) {
      const page: MessagePage = yield* pageAfter(after)
      const at = page.messages.findIndex((m) => m.id === target)
      if (at >= 0) {
        return { _tag: "Found", messages: passed.concat(page.messages.slice(0, at + 1)), ahead: page.messages.slice(at + 1) }
      }
      if (!page.has_more || page.messages.length === 0) return { _tag: "Covered" }
      passed = passed.concat(page.messages)
      if (passed.length >= cap) return { _tag: "TooFar" }
      after = page.messages.at(-1)!.id
    }
  })

interface ChannelStats {
  readonly fetched: number
  readonly pages: number
  readonly replayed: number
  readonly skipped: number
  readonly failed: number
}
const noStats: ChannelStats = { fetched: 0, pages: 0, replayed: 0, skipped: 0, failed: 0 }
const addStats = (a: ChannelStats, b: ChannelStats): ChannelStats => ({
  fetched: a.fetched + b.fetched,
  pages: a.pages + b.pages,
  replayed: a.replayed + b.replayed,
  skipped: a.skipped + b.skipped,
  failed: a.failed + b.failed
})

const channelLabel = (channel: Channel) => `"${channel.name}" (${channel.id})`

export class CatchUp extends Effect.Service<CatchUp>()("plexum-fabric/CatchUp", {
  effect: Effect.gen(function*() {
    const api = yield* FabricApi
    const lastSeen = yield* LastSeen
    const registry = yield* FiberRegistry
    const { config } = yield* ActiveProfile
    const cap = config.catchup_max_messages
    const concurrency = config.catchup_concurrency

    // One per guild node, shared by every agent: politeness is owed to the node, not the agent.
    // Bounded by the number of guilds.
    const permitsByGuild = new Map<string, Effect.Semaphore>()
    const permitsOf = (guildNodeId: string) => {
      let permits = permitsByGuild.get(guildNodeId)
      if (permits === undefined) {
        permits = Effect.unsafeMakeSemaphore(concurrency)
        permitsByGuild.set(guildNodeId, permits)
      }
      return permits
    }

    const history = (ref: GuildRef, channelId: string, query: HistoryQuery) =>
      permitsOf(ref.guildNodeId).withPermits(1)(api.listMessages(ref, channelId, query))

    const deliverAll = (ref: GuildRef, channel: Channel, messages: ReadonlyArray<Message>, deliver: LiveParams["deliver"]) =>
      Effect.forEach(
        messages,
        (message) => deliver(message, channel).pipe(Effect.zipRight(lastSeen.record(ref.agentId, channel.id, message.id))),
        { discard: true }
      )

    // Messages Fabric stamped after this instant arrived after the plugin started: new.
    const startedAt = yield* Clock.currentTimeMillis
    const postedAfterStart = (message: Message) => Date.parse(message.created_at) > startedAt

    /**
     * First connect: history from before the plugin started is not new; what was posted between
     * the start and this connect is (Fabric's `created_at` against this host's clock). The
     * newest old message becomes the watermark. Until that read succeeds the channel stays
     * marked, so a failed read does not turn its old history into new messages at the next
     * connect. A channel that is empty at start has no old history: it is left without a mark,
     * like a channel joined later.
     */
    const watermark = (ref: GuildRef, channel: Channel, params: CatchUpParams) =>
      lastSeen.markUnreadStart(ref.agentId, channel.id).pipe(
        Effect.zipRight(history(ref, channel.id, { limit: HISTORY_LIMIT_MAX })),
        Effect.tap((page) => {
          const fresh = page.messages.filter(postedAfterStart)
          const newestOld = page.messages.slice(0, page.messages.length - fresh.length).at(-1)
          return (newestOld ? lastSeen.record(ref.agentId, channel.id, newestOld.id) : lastSeen.forget(ref.agentId, channel.id))
            .pipe(Effect.zipRight(deliverAll(ref, channel, fresh, params.deliver)))
        }),
        Effect.map((page): ChannelStats => ({
          ...noStats,
          fetched: page.messages.length,
          pages: 1,
          replayed: page.messages.filter(postedAfterStart).length
        }))
      )

    const replay = (ref: GuildRef, channel: Channel, since: Option.Option<string>, params: CatchUpParams) =>
      Effect.gen(function*() {
        const missed = yield* walkBack(
          (before) => history(ref, channel.id, before === undefined ? { limit: HISTORY_LIMIT_MAX } : { before, limit: HISTORY_LIMIT_MAX }),
          since,
          cap
        )
        if (missed.skipped > 0) {
          yield* Effect.logWarning(
            `Catch-up of channel ${channelLabel(channel)} replayed the newest ${missed.messages.length} missed messages ` +
              `and skipped ${missed.skippedExact ? "" : "at least "}${missed.skipped} older ones: the gap is longer than ` +
              `catchup_max_messages (${cap}) in config.json. Raise it to reach further back.`
          ).pipe(Effect.annotateLogs({ channel: channel.id, skipped: missed.skipped }))
        }
        for (const message of missed.messages) {
          yield* params.deliver(message, channel)
          yield* lastSeen.record(ref.agentId, channel.id, message.id)
        }
        return {
          fetched: missed.fetched,
          pages: missed.pages,
          replayed: missed.messages.length,
          skipped: missed.skipped,
          failed: 0
        } satisfies ChannelStats
      })

    const catchUpChannel = (ref: GuildRef, channel: Channel, params: CatchUpParams) =>
      Effect.gen(function*() {
        const since = yield* lastSeen.get(ref.agentId, channel.id)
        const oldHistory = Option.isNone(since) && !config.replay_on_start &&
          (params.firstConnect || (yield* lastSeen.isUnreadStart(ref.agentId, channel.id)))
        return yield* oldHistory ? watermark(ref, channel, params) : replay(ref, channel, since, params)
      }).pipe(
        Effect.tap((stats) => Effect.annotateCurrentSpan({ ...stats })),
        Effect.withSpan("inbound.catchup", {
          attributes: { agent: ref.agentId, guild: ref.guildNodeId, channel: channel.id, first_connect: params.firstConnect }
        }),
        // 429 and 5xx were already retried by FabricApi; 403/404 will not change by retrying.
        // The next reconnect starts again from the same watermark.
        Effect.catchAll((error) =>
          Effect.logWarning(
            `Catch-up of channel ${channelLabel(channel)} gave up: ${error.message} ` +
              `Messages it missed while disconnected are not delivered; the next reconnect tries again.`
          ).pipe(Effect.annotateLogs({ channel: channel.id, reason: error.reason }), Effect.as({ ...noStats, failed: 1 }))
        ),
        Effect.catchAllDefect((defect) =>
          Effect.logError(`Catch-up of channel ${channelLabel(channel)} failed unexpectedly; it is skipped.`, defect).pipe(
            Effect.annotateLogs({ channel: channel.id }),
            Effect.as({ ...noStats, failed: 1 })
          )
        )
      )

    /**
     * What a live check read past its target, per (agent, channel): messages already posted
     * after the watermark `anchor`, contiguous. A later waking message found among them needs no
     * history call: under load one call covers a whole page of live messages. Valid only while
     * the watermark is still `anchor` (a catch-up moves it and so discards this).
     */
    const aheadOf = new Map<string, { readonly anchor: string; readonly messages: ReadonlyArray<Message> }>()
    const aheadKey = (agentId: string, channelId: string) => `${agentId}\u0000${channelId}`

    /**
     * A waking live message is delivered only after what the socket missed before it in its
     * channel: the watermark moves on waking messages checked this way and on catch-ups, never
     * on a bare live event, so an event the node dropped cannot be jumped over. A message that
     * does not wake needs no check: it is gated anyway, and the next check or catch-up reads
     * past it. A hot path: at most one history call per waking message, none when an earlier
     * check already read past it.
     */
    const live = Effect.fnUntraced(function*(params: LiveParams) {
      const { channel, deliver, message } = params
      const ref: GuildRef = { agentId: params.agentId, guildNodeId: params.guildNodeId }
      // Trusting the socket while it is up: every live message moves the watermark.
      if (!config.live_gap_check) return yield* deliverAll(ref, channel, [message], deliver)
      if (!params.wakes) return yield* deliver(message, channel)
      const since = yield* lastSeen.get(ref.agentId, channel.id)
      if (Option.isNone(since)) return yield* deliverAll(ref, channel, [message], deliver)
      const key = aheadKey(ref.agentId, channel.id)
      const known = aheadOf.get(key)
      const at = known?.anchor === since.value ? known.messages.findIndex((m) => m.id === message.id) : -1
      if (at >= 0) {
        const rest = known!.messages.slice(at + 1)
        if (rest.length > 0) aheadOf.set(key, { anchor: message.id, messages: rest })
        else aheadOf.delete(key)
        return yield* deliverAll(ref, channel, known!.messages.slice(0, at + 1), deliver)
      }
      aheadOf.delete(key)
      const continuity = yield* walkForward(
        (after) => history(ref, channel.id, { after, limit: HISTORY_LIMIT_MAX }),
        since.value,
        message.id,
        cap
      ).pipe(
        Effect.catchAll((error) =>
          Effect.logWarning(
            `Could not check channel ${channelLabel(channel)} for messages missed before ${message.id}: ${error.message} ` +
              `It is delivered now; the next reconnect catches up what may be missing.`
          ).pipe(Effect.as("Unchecked" as const))
        )
      )
      if (continuity === "Unchecked") return yield* deliver(message, channel)
      switch (continuity._tag) {
        case "Found":
          if (continuity.ahead.length > 0) aheadOf.set(key, { anchor: message.id, messages: continuity.ahead })
          return yield* deliverAll(ref, channel, continuity.messages, deliver)
        case "Covered":
          return yield* deliver(message, channel)
        case "TooFar":
          yield* Effect.logWarning(
            `Channel ${channelLabel(channel)} has more than catchup_max_messages (${cap}) messages between the last one ` +
              `checked and ${message.id}; it is delivered without looking further back. The next reconnect catches up.`
          )
          return yield* deliver(message, channel)
      }
    })

    const run = Effect.fn("CatchUp.run")(function*(params: CatchUpParams) {
      const ref: GuildRef = { agentId: params.agentId, guildNodeId: params.guildNodeId }
      yield* Effect.annotateCurrentSpan({
        agent: params.agentId,
        guild: params.guildNodeId,
        channels: params.channels.length,
        first_connect: params.firstConnect
      })
      const tracked = yield* registry.track({
        kind: "catchup",
        agent_id: params.agentId,
        guild_node_id: params.guildNodeId,
        state: params.firstConnect && !config.replay_on_start ? "watermarking" : "catching up"
      })
      const stats = yield* Effect.forEach(
        params.channels,
        (channel) => tracked.update({ channel_id: channel.id }).pipe(Effect.zipRight(catchUpChannel(ref, channel, params))),
        { concurrency }
      )
      const total = stats.reduce(addStats, noStats)
      yield* Effect.annotateCurrentSpan({ ...total })
      if (total.replayed > 0 || total.failed > 0) {
        yield* Effect.logInfo(
          `Catch-up for agent ${params.agentId} in guild ${params.guildNodeId}: ${total.replayed} missed messages replayed ` +
            `from ${params.channels.length} channels (${total.pages} history pages), ${total.failed} channels failed.`
        )
      }
    }, Effect.scoped, Effect.annotateLogs({ service: "CatchUp" }))

    return { run, live } as const
  })
}) {}
