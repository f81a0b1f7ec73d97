/**
 * The channels an agent is in on one guild, with their `x_type` (the wake gate needs it). Loaded
 * on every connect, kept current by `channel.joined` / `channel.left`, and re-read every
 * `channel_sync_interval_seconds` in case an event was missed. A channel that a re-sync finds for
 * the first time is caught up before it becomes known, so its live messages wait behind the
 * history they follow. Lookups are synchronous (the batch core makes one per message); only the
 * list reads are Effects.
 */
import { Effect } from "effect"
import { FabricApi, type FabricCallError, type GuildRef } from "../fabric/FabricApi.js"
import type { Channel } from "../fabric/FabricContract.js"
import { annotateSpan, withSpanWhileTracing } from "../telemetry/Spans.js"

/** The directory of one socket session. */
export interface Directory {
  /** The channel, when the agent is known to be in it. */
  readonly get: (channelId: string) => Channel | undefined
  readonly joined: (channel: Channel) => void
  readonly left: (channelId: string) => void
  /** The channels known now. */
  readonly channels: () => Iterable<Channel>
  /** Replaces the list with the guild's; returns it. Called once per connect. */
  readonly load: Effect.Effect<ReadonlyArray<Channel>, FabricCallError>
  /**
   * Re-reads the list: channels it did not know are handed to `catchUp`, then added; channels
   * no longer listed are dropped. Loads and re-syncs take turns.
   */
  readonly resync: (catchUp: (fresh: ReadonlyArray<Channel>) => Effect.Effect<void>) => Effect.Effect<void, FabricCallError>
}

export class ChannelDirectory extends Effect.Service<ChannelDirectory>()("plexum-fabric/ChannelDirectory", {
  effect: Effect.gen(function*() {
    const api = yield* FabricApi

    /** `onLeft` runs for every channel the agent is no longer in, so its state can go. */
    const make = (ref: GuildRef, onLeft: (channelId: string) => void) =>
      Effect.gen(function*() {
        const known = new Map<string, Channel>()
        const turn = yield* Effect.makeSemaphore(1)
        const left = (channelId: string) => {
          known.delete(channelId)
          onLeft(channelId)
        }

        const load = turn.withPermits(1)(
          api.listChannels(ref).pipe(
            Effect.tap((channels) => {
              known.clear()
              for (const channel of channels) known.set(channel.id, channel)
            }),
            withSpanWhileTracing("ChannelDirectory.load", { attributes: { agent: ref.agentId, guild: ref.guildNodeId } })
          )
        )

        const resync = (catchUp: (fresh: ReadonlyArray<Channel>) => Effect.Effect<void>) =>
          turn.withPermits(1)(
            Effect.gen(function*() {
              const channels = yield* api.listChannels(ref)
              const listed = new Set(channels.map((channel) => channel.id))
              const fresh = channels.filter((channel) => !known.has(channel.id))
              for (const channel of channels) if (known.has(channel.id)) known.set(channel.id, channel)
              for (const id of [...known.keys()]) if (!listed.has(id)) left(id)
              yield* annotateSpan({ channels: channels.length, fresh: fresh.length })
              if (fresh.length === 0) return
              yield* catchUp(fresh)
              for (const channel of fresh) known.set(channel.id, channel)
            }).pipe(withSpanWhileTracing("ChannelDirectory.resync", { attributes: { agent: ref.agentId, guild: ref.guildNodeId } }))
          )

        return {
          get: (channelId) => known.get(channelId),
          joined: (channel) => void known.set(channel.id, channel),
          left,
          channels: () => known.values(),
          load,
          resync
        } satisfies Directory
      })

    return { make } as const
  })
}) {}
