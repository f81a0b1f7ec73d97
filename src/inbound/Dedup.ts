/**
 * At-most-once delivery per agent: the same Fabric message can arrive twice (a catch-up after a
 * reconnect overlaps the live stream; a guild may resend). Remembers the last `dedup_capacity`
 * message ids per agent and forgets the oldest first, so memory stays bounded however long
 * the plugin runs.
 */
import { Effect } from "effect"
import { ActiveProfile } from "../profile/ProfileSchema.js"

/**
 * Message ids are opaque and only unique within a guild node: the remembered key carries the
 * guild, so two guilds numbering their messages alike never shadow each other.
 */
const keyOf = (guildNodeId: string, messageId: string) => `${guildNodeId}\u0000${messageId}`

export class Dedup extends Effect.Service<Dedup>()("plexum-fabric/Dedup", {
  effect: Effect.gen(function*() {
    const capacity = (yield* ActiveProfile).config.dedup_capacity
    // A Set iterates in insertion order: its first element is the oldest id.
    const seenByAgent = new Map<string, Set<string>>()

    const seenOf = (agentId: string) => {
      let seen = seenByAgent.get(agentId)
      if (seen === undefined) {
        seen = new Set()
        seenByAgent.set(agentId, seen)
      }
      return seen
    }

    return {
      /**
       * True the first time this agent meets this message (and remembers it); false for a
       * duplicate. A hot path: synchronous, no span.
       */
      firstSeen: (agentId: string, guildNodeId: string, messageId: string): Effect.Effect<boolean> =>
        Effect.sync(() => {
          const seen = seenOf(agentId)
          const key = keyOf(guildNodeId, messageId)
          if (seen.has(key)) return false
          seen.add(key)
          if (seen.size > capacity) seen.delete(seen.values().next().value!)
          return true
        })
    } as const
  })
}) {}
