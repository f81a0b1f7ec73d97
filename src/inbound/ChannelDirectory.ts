/**
 * The channels an agent is in on one guild, with their `x_type` (the wake gate needs it). Loaded
 * on every connect, kept current by `channel.joined` / `channel.left`, and re-read every
 * `channel_sync_interval_seconds` in case an event was missed. A channel that a re-sync finds
 * for the first time is caught up before it becomes known, so its live messages wait behind
 * the history they follow.
 */
import { Effect, Option, type Scope } from "effect"
import { FabricApi, type FabricCallError, type GuildRef } from "../fabric/FabricApi.js"
import type { Channel, Message } from "../fabric/FabricContract.js"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { FiberRegistry } from "../telemetry/FiberRegistry.js"
import { CatchUp } from "./CatchUp.js"
import { LastSeen } from "./LastSeen.js"
import { resyncPolicy } from "./Timing.js"

/** The directory of one socket session. */
export interface Directory {
  /** Replaces the list with the guild's; returns it. Called once per connect. */
  readonly load: Effect.Effect<ReadonlyArray<Channel>, FabricCallError>
  /**
   * The channel, when the agent is in it. An unknown channel costs one re-sync first: a
   * message can arrive before the event that would have announced its channel.
   */
  readonly resolve: (channelId: string) => Effect.Effect<Option.Option<Channel>>
  readonly joined: (channel: Channel) => Effect.Effect<void>
  readonly left: (channelId: string) => Effect.Effect<void>
  /** Re-reads the list; channels it did not know are caught up, then added. Failures are logged. */
  readonly resync: Effect.Effect<void>
  /** Re-syncs every `channel_sync_interval_seconds` until the scope closes. */
  readonly resyncPeriodically: Effect.Effect<void, never, Scope.Scope>
}

export class ChannelDirectory extends Effect.Service<ChannelDirectory>()("plexum-fabric/ChannelDirectory", {
  effect: Effect.gen(function*() {
    const api = yield* FabricApi
    const catchUp = yield* CatchUp
    const lastSeen = yield* LastSeen
    const registry = yield* FiberRegistry
    const { config } = yield* ActiveProfile

    const make = Effect.fn("ChannelDirectory.make")(function*(
      ref: GuildRef,
      deliver: (message: Message, channel: Channel) => Effect.Effect<void>
    ) {
      yield* Effect.annotateCurrentSpan({ agent: ref.agentId, guild: ref.guildNodeId })
      const known = new Map<string, Channel>()
      // Loads and re-syncs take turns, so a channel's catch-up finishes before anyone sees it.
      const turn = yield* Effect.makeSemaphore(1)

      const forget = (channelId: string) =>
        Effect.suspend(() => {
          known.delete(channelId)
          return lastSeen.forget(ref.agentId, channelId)
        })

      const load = turn.withPermits(1)(
        api.listChannels(ref).pipe(
          Effect.tap((channels) =>
            Effect.sync(() => {
              known.clear()
              for (const channel of channels) known.set(channel.id, channel)
            })
          ),
          Effect.withSpan("ChannelDirectory.load", { attributes: { agent: ref.agentId, guild: ref.guildNodeId } })
        )
      )

      const syncNow = Effect.gen(function*() {
        const channels = yield* api.listChannels(ref)
        const listed = new Set(channels.map((channel) => channel.id))
        const fresh = channels.filter((channel) => !known.has(channel.id))
        for (const channel of channels) if (known.has(channel.id)) known.set(channel.id, channel)
        yield* Effect.forEach([...known.keys()].filter((id) => !listed.has(id)), forget, { discard: true })
        yield* Effect.annotateCurrentSpan({ channels: channels.length, fresh: fresh.length })
        if (fresh.length === 0) return
        yield* catchUp.run({ agentId: ref.agentId, guildNodeId: ref.guildNodeId, channels: fresh, firstConnect: false, deliver })
        for (const channel of fresh) known.set(channel.id, channel)
      }).pipe(
        Effect.withSpan("ChannelDirectory.resync", { attributes: { agent: ref.agentId, guild: ref.guildNodeId } }),
        Effect.catchAll((error: FabricCallError) =>
          Effect.logWarning(
            `Re-reading the channel list of agent ${ref.agentId} in guild ${ref.guildNodeId} failed: ${error.message} ` +
              `Channels it joined meanwhile are found at the next re-sync or reconnect.`
          )
        )
      )

      const resync = turn.withPermits(1)(syncNow)

      const resolve = (channelId: string) =>
        Effect.suspend(() =>
          known.has(channelId)
            ? Effect.succeed(Option.some(known.get(channelId)!))
            : turn.withPermits(1)(
              // A re-sync that held the turn may have brought it in meanwhile.
              Effect.suspend(() => (known.has(channelId) ? Effect.void : syncNow)).pipe(
                Effect.map(() => Option.fromNullable(known.get(channelId)))
              )
            )
        )

      const resyncPeriodically = Effect.gen(function*() {
        const tracked = yield* registry.track({ kind: "resync", agent_id: ref.agentId, guild_node_id: ref.guildNodeId, state: "waiting" })
        yield* tracked.update({ state: "syncing" }).pipe(
          Effect.zipRight(resync),
          Effect.zipRight(tracked.update({ state: "waiting" })),
          Effect.schedule(resyncPolicy(config.channel_sync_interval_seconds)),
          Effect.asVoid
        )
      }).pipe(Effect.scoped, Effect.forkScoped, Effect.asVoid)

      return {
        load,
        resolve,
        joined: (channel: Channel) => Effect.sync(() => void known.set(channel.id, channel)),
        left: forget,
        resync,
        resyncPeriodically
      } satisfies Directory
    })

    return { make } as const
  })
}) {}
