/**
 * Which Fabric channels an agent is a member of, per guild: `send` needs it to decide whether a
 * reply can go to the channel of the session (profile.md "Outbound routing"). The list is
 * cached briefly because an agent answers in bursts; a channel missing from the cached list is
 * looked up once more before the answer is "not a member", so a channel joined a moment ago is
 * not missed.
 */
import { Cache, Data, Duration, Effect, Exit, Option } from "effect"
import type * as C from "../fabric/FabricContract.js"
import { FabricApi, type FabricCallError, type GuildRef } from "../fabric/FabricApi.js"

/** How long a channel list is trusted. Failures are not cached. */
export const MEMBERSHIP_TTL = Duration.seconds(30)
const CAPACITY = 1024

const keyOf = (g: GuildRef) => Data.struct({ agentId: g.agentId, guildNodeId: g.guildNodeId })

export class Membership extends Effect.Service<Membership>()("plexum-fabric/Membership", {
  effect: Effect.gen(function*() {
    const fabric = yield* FabricApi
    const cache = yield* Cache.makeWith({
      capacity: CAPACITY,
      lookup: (key: GuildRef) => fabric.listChannels(key),
      timeToLive: (exit) => (Exit.isSuccess(exit) ? MEMBERSHIP_TTL : Duration.zero)
    })

    /** A fresh channel list (and the cache refreshed with it). */
    const channels = Effect.fn("Membership.channels")(function*(g: GuildRef) {
      const key = keyOf(g)
      yield* cache.invalidate(key)
      return yield* cache.get(key)
    })

    const find = (list: ReadonlyArray<C.Channel>, channelId: string) =>
      Option.fromNullable(list.find((channel) => channel.id === channelId))

    /** The channel when the agent is a member of it; a miss in the cache is checked once more. */
    const channel = Effect.fn("Membership.channel")(function*(
      g: GuildRef,
      channelId: string
    ): Effect.fn.Return<Option.Option<C.Channel>, FabricCallError> {
      const cached = find(yield* cache.get(keyOf(g)), channelId)
      return Option.isSome(cached) ? cached : find(yield* channels(g), channelId)
    })

    const isMember = (g: GuildRef, channelId: string) => Effect.map(channel(g, channelId), Option.isSome)

    /** After the agent joined, left or created a channel. */
    const invalidate = (g: GuildRef) => cache.invalidate(keyOf(g))

    return { channels, channel, isMember, invalidate }
  })
}) {}
