/**
 * What each agent remembers of recent messages, so that every message is handled once: the same
 * Fabric message can arrive twice (a catch-up overlaps the live stream; a node may resend).
 * Bounded by `dedup_capacity` per agent, forgetting the oldest first, however long the plugin
 * runs. Plain synchronous state: the batch core consults it per message.
 */
import { Effect } from "effect"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { IdRing, type ScopedIds } from "./IdRing.js"

export class Dedup extends Effect.Service<Dedup>()("plexum-fabric/Dedup", {
  effect: Effect.gen(function*() {
    const capacity = (yield* ActiveProfile).config.dedup_capacity
    const byAgent = new Map<string, IdRing>()
    return {
      /**
       * One agent's memory of the messages of `guildNodeId` (message ids are only unique within
       * a node): every message handled (delivered, recorded or dropped), so a second copy is a
       * duplicate, and which of them were delivered (as `message_id` or merged into a burst), so
       * an edit of one never wakes. The capacity is the agent's, shared by all its guilds.
       */
      memoryOf: (agentId: string, guildNodeId: string): ScopedIds => {
        let ring = byAgent.get(agentId)
        if (ring === undefined) {
          ring = new IdRing(capacity)
          byAgent.set(agentId, ring)
        }
        return ring.scope(guildNodeId)
      }
    } as const
  })
}) {}
