/**
 * The agent shown as typing (host-protocol.md v1.1, "The agent's presence and typing"): from
 * the moment an inbound notification for a channel is written until the agent posts there
 * through a tool, or `typing_max_seconds` pass, renewed every `TYPING_RENEW_EVERY` (the node
 * shows it for 8 s per call).
 *
 * One loop per (agent, channel), in a FiberMap owned by the activated plugin's scope: more
 * notifications while it runs change nothing, so the window counts from the first unanswered
 * one. A node that answers 404 `not_found` has no typing route (a v1 node): it is not asked
 * again until the plugin restarts, with one info line. Any other failure ends the loop quietly:
 * typing is a courtesy, and the next notification starts it again.
 */
import { Duration, Effect, FiberMap, Schedule } from "effect"
import { FabricApi, type FabricCallError } from "../fabric/FabricApi.js"
import { ROUTE_NOT_FOUND_CODE } from "../fabric/FabricContract.js"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { FiberRegistry } from "../telemetry/FiberRegistry.js"

/** Under the node's 8 s, so the indicator does not flicker between calls. */
export const TYPING_RENEW_EVERY = Duration.seconds(6)

/** Calls at 0, 6, 12 … s while less than `maxSeconds` have passed. */
export const typingSchedule = (maxSeconds: number) =>
  Schedule.spaced(TYPING_RENEW_EVERY).pipe(
    Schedule.intersect(Schedule.recurs(Math.ceil(maxSeconds / Duration.toSeconds(TYPING_RENEW_EVERY)) - 1))
  )

const loopKey = (agentId: string, channelId: string) => `${agentId}\u0000${channelId}`

/** The node has no typing route (v1), as opposed to an unknown channel. */
const unsupported = (error: FabricCallError) =>
  error._tag === "FabricError" && error.status === 404 && error.code === ROUTE_NOT_FOUND_CODE

export class Typing extends Effect.Service<Typing>()("plexum-fabric/Typing", {
  scoped: Effect.gen(function*() {
    const profile = yield* ActiveProfile
    const fabric = yield* FabricApi
    const registry = yield* FiberRegistry
    const loops = yield* FiberMap.make<string>()
    /** Guild nodes that answered 404 `not_found`: not asked again until the plugin restarts. */
    const v1Nodes = new Set<string>()
    const { typing: enabled, typing_max_seconds: maxSeconds } = profile.config

    const loop = (agentId: string, guildNodeId: string, channelId: string) =>
      Effect.gen(function*() {
        yield* registry.track({ kind: "typing", agent_id: agentId, guild_node_id: guildNodeId, channel_id: channelId, state: "typing" })
        yield* fabric.startTyping({ agentId, guildNodeId }, channelId).pipe(
          Effect.repeat(typingSchedule(maxSeconds)),
          Effect.catchAll((error) => {
            if (!unsupported(error)) {
              return Effect.logDebug(`Typing indicator of agent ${agentId} in channel ${channelId} stopped: ${error.message}`)
            }
            if (v1Nodes.has(guildNodeId)) return Effect.void
            v1Nodes.add(guildNodeId)
            return Effect.logInfo(
              `Guild ${guildNodeId} has no typing endpoint (a Fabric v1 node answered 404 not_found); ` +
                `the plugin stops showing agents as typing there until it restarts.`
            )
          })
        )
      }).pipe(
        Effect.scoped,
        Effect.annotateLogs({ service: "Typing", agent: agentId, guild: guildNodeId, channel: channelId })
      )

    /**
     * An inbound notification for the channel was written. Returns at once: the loop runs on
     * its own fiber, and never delays a delivery.
     */
    const notified = (agentId: string, guildNodeId: string, channelId: string): Effect.Effect<void> => {
      if (!enabled || v1Nodes.has(guildNodeId)) return Effect.void
      const key = loopKey(agentId, channelId)
      // Called once per delivering batch: a channel already shown typing costs no Effect at all.
      return FiberMap.unsafeHas(loops, key)
        ? Effect.void
        : Effect.asVoid(FiberMap.run(loops, key, loop(agentId, guildNodeId, channelId), { onlyIfMissing: true }))
    }

    /** The agent posted in the channel through a tool: it is no longer typing there. */
    const posted = (agentId: string, channelId: string): Effect.Effect<void> => FiberMap.remove(loops, loopKey(agentId, channelId))

    return { notified, posted } as const
  })
}) {}
