/**
 * What each agent remembers of recent messages, so that every message is handled once: the same
 * Fabric message can arrive twice (a catch-up overlaps the live stream; a node may resend).
 * Bounded by `dedup_capacity` per agent, forgetting the oldest first, however long the plugin
 * runs. Plain synchronous state: the batch core consults it per message.
 */
import { Effect } from "effect"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { IdRing, type ScopedIds } from "./IdRing.js"

/**
 * One agent's memory of the messages of one guild node (message ids are only unique within a
 * node); the capacity is the agent's, shared by all its guilds.
 */
export interface AgentMemory {
  /** Every message handled (delivered, recorded or dropped): a second copy is a duplicate. */
  readonly seen: ScopedIds
  /** Messages delivered to the agent (as `message_id` or merged into a burst): an edit of one never wakes. */
  readonly delivered: ScopedIds
}

export class Dedup extends Effect.Service<Dedup>()("plexum-fabric/Dedup", {
  effect: Effect.gen(function*() {
    const capacity = (yield* ActiveProfile).config.dedup_capacity
    const byAgent = new Map<string, { readonly seen: IdRing; readonly delivered: IdRing }>()
    return {
      /** The agent's memory of the messages of `guildNodeId`. */
      memoryOf: (agentId: string, guildNodeId: string): AgentMemory => {
        let rings = byAgent.get(agentId)
        if (rings === undefined) {
          rings = { seen: new IdRing(capacity), delivered: new IdRing(capacity) }
          byAgent.set(agentId, rings)
        }
        return { seen: rings.seen.scope(guildNodeId), delivered: rings.delivered.scope(guildNodeId) }
      }
    } as const
  })
}) {}
