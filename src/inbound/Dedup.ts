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
    // Per agent: the ids remembered, and a ring of the same ids in arrival order, whose next
    // slot holds the oldest. (Deleting the first element of a Set instead leaves holes that
    // every later "first element" lookup walks over.)
    const seenByAgent = new Map<string, { readonly ids: Set<string>; readonly ring: Array<string>; next: number }>()

    const seenOf = (agentId: string) => {
      let seen = seenByAgent.get(agentId)
      if (seen === undefined) {
        seen = { ids: new Set(), ring: [], next: 0 }
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
          if (seen.ids.has(key)) return false
          seen.ids.add(key)
          if (seen.ring.length < capacity) {
            seen.ring.push(key)
          } else {
            seen.ids.delete(seen.ring[seen.next]!)
            seen.ring[seen.next] = key
            seen.next = (seen.next + 1) % capacity
          }
          return true
        })
    } as const
  })
}) {}
