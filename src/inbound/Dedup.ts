/**
 * What each agent remembers of recent messages, so that every message is handled once: the same
 * Fabric message can arrive twice (a catch-up overlaps the live stream; a node may resend).
 * Bounded by `dedup_capacity` per agent, forgetting the oldest first, however long the plugin
 * runs. Plain synchronous state: the batch core consults it per message.
 */
import { Effect } from "effect"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { IdRing } from "./IdRing.js"

/** One agent's memory. Keys carry the guild: message ids are only unique within a guild node. */
export interface AgentMemory {
  /** Every message handled (delivered, recorded or dropped): a second copy is a duplicate. */
  readonly seen: IdRing
  /** Messages delivered to the agent (as `message_id` or merged into a burst): an edit of one never wakes. */
  readonly delivered: IdRing
}

export const memoryKey = (guildNodeId: string, messageId: string) => `${guildNodeId}\u0000${messageId}`

export class Dedup extends Effect.Service<Dedup>()("plexum-fabric/Dedup", {
  effect: Effect.gen(function*() {
    const capacity = (yield* ActiveProfile).config.dedup_capacity
    const byAgent = new Map<string, AgentMemory>()
    return {
      memoryOf: (agentId: string): AgentMemory => {
        let memory = byAgent.get(agentId)
        if (memory === undefined) {
          memory = { seen: new IdRing(capacity), delivered: new IdRing(capacity) }
          byAgent.set(agentId, memory)
        }
        return memory
      }
    } as const
  })
}) {}
