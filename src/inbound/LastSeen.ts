/**
 * The id of the last Fabric message the plugin has seen, per (agent, channel): the watermark
 * catch-up resumes from after a reconnect. In memory only (a plugin restart starts afresh, see
 * docs/guarantees.md); one entry per channel an agent is in, dropped when it leaves.
 */
import { Effect, Option } from "effect"

const keyOf = (agentId: string, channelId: string) => `${agentId}\u0000${channelId}`

/**
 * A channel whose history at plugin start is old, but whose newest message could not be read
 * (the first connect's watermark call failed): its next catch-up sets the watermark instead of
 * replaying that history as if the channel were new.
 */
const UNREAD_START = Symbol("UnreadStart")

export class LastSeen extends Effect.Service<LastSeen>()("plexum-fabric/LastSeen", {
  sync: () => {
    const watermarks = new Map<string, string | typeof UNREAD_START>()
    return {
      /** Called for every message.created and every caught-up message: a hot path. */
      record: (agentId: string, channelId: string, messageId: string): Effect.Effect<void> =>
        Effect.sync(() => {
          watermarks.set(keyOf(agentId, channelId), messageId)
        }),
      get: (agentId: string, channelId: string): Effect.Effect<Option.Option<string>> =>
        Effect.sync(() => {
          const seen = watermarks.get(keyOf(agentId, channelId))
          return typeof seen === "string" ? Option.some(seen) : Option.none()
        }),
      /** Marks a channel as present at plugin start with no known watermark yet. */
      markUnreadStart: (agentId: string, channelId: string): Effect.Effect<void> =>
        Effect.sync(() => {
          const key = keyOf(agentId, channelId)
          if (!watermarks.has(key)) watermarks.set(key, UNREAD_START)
        }),
      isUnreadStart: (agentId: string, channelId: string): Effect.Effect<boolean> =>
        Effect.sync(() => watermarks.get(keyOf(agentId, channelId)) === UNREAD_START),
      /** On channel.left, so the map stays bounded by the channels the agents are in. */
      forget: (agentId: string, channelId: string): Effect.Effect<void> =>
        Effect.sync(() => {
          watermarks.delete(keyOf(agentId, channelId))
        }),
      size: Effect.sync(() => watermarks.size) as Effect.Effect<number>
    }
  }
}) {}
