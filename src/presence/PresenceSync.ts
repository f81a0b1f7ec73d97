/**
 * Presence sync (host-protocol.md v1.1): the agent is `online` in a guild after each successful
 * connect of its socket there (with `presence_activity` as the activity when set), and
 * `offline` again at a graceful stop in every guild where the plugin set it online.
 *
 * The stop has 5 s in all; the offline calls run concurrently within `OFFLINE_BUDGET`, so a
 * slow or dead node cannot hold it: what has not answered by then is left to the node's own
 * presence rules (its sockets are closing anyway).
 */
import { Duration, Effect, type Scope } from "effect"
import { FabricApi, type GuildRef, guildKey } from "../fabric/FabricApi.js"
import { perNode } from "../fabric/FairPermits.js"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { withSpanWhileTracing } from "../telemetry/Spans.js"

/** Online calls in flight at once per guild node. */
const ONLINE_CALLS_PER_NODE = 8

/** The share of the 5 s stop budget the offline calls may take, all together. */
export const OFFLINE_BUDGET = Duration.seconds(2)

export class PresenceSync extends Effect.Service<PresenceSync>()("plexum-fabric/PresenceSync", {
  scoped: Effect.gen(function*() {
    const profile = yield* ActiveProfile
    const fabric = yield* FabricApi
    const { presence_sync: enabled, presence_activity: activity } = profile.config
    /** Where the plugin set (or is setting) an agent online, to set it offline there at the stop. */
    const online = new Map<string, GuildRef>()
    /**
     * Per guild node, the online calls in flight: after a node restart all its agents connect at
     * once, and a thousand calls waiting on the node together only hold memory meanwhile.
     */
    const permitsOf = perNode(ONLINE_CALLS_PER_NODE)

    const setOffline = (ref: GuildRef) =>
      fabric.putPresence(ref, "offline").pipe(
        Effect.catchAll((error) =>
          Effect.logWarning(`Could not set agent ${ref.agentId} offline in guild ${ref.guildNodeId}: ${error.message}`)
        )
      )

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        // No online call can land after the offline one: each runs in the scope of the
        // connection that made it, and the Supervisor (built on this service) has closed every
        // connection before this finalizer runs.
        const guilds = [...online.values()]
        if (guilds.length === 0) return
        const done = yield* Effect.forEach(guilds, setOffline, { concurrency: "unbounded", discard: true }).pipe(
          // Finalizers run uninterruptibly; the calls must be interruptible for the bound to cut them.
          Effect.interruptible,
          Effect.timeout(OFFLINE_BUDGET),
          Effect.option
        )
        if (done._tag === "None") {
          yield* Effect.logWarning(
            `Setting agents offline did not finish within ${Duration.format(OFFLINE_BUDGET)} (${guilds.length} guild(s)); ` +
              `the stop goes on, and Fabric shows them offline once their sockets are gone.`
          )
        }
      }).pipe(Effect.annotateLogs({ service: "PresenceSync" }))
    )

    const setOnline = (ref: GuildRef) =>
      permitsOf(ref.guildNodeId).withPermit(fabric.putPresence(ref, "online", activity ?? undefined)).pipe(
        Effect.catchAll((error) =>
          Effect.logWarning(
            `Could not set agent ${ref.agentId} online in guild ${ref.guildNodeId}: ${error.message}. ` +
              `The next connect tries again.`
          )
        ),
        Effect.annotateLogs({ service: "PresenceSync" }),
        withSpanWhileTracing("PresenceSync.online", { attributes: { agent: ref.agentId, guild: ref.guildNodeId } })
      )

    /**
     * The socket of `ref` just connected. Returns at once and never fails the caller: the call
     * runs on a fiber of the caller's scope (the connection), so a slow node does not hold back
     * delivery, and a connection that ends takes its call with it. (A `FiberMap` keyed by guild
     * did the same at twice the cost: 6 % of a reconnect storm's samples.)
     */
    const connected = (ref: GuildRef): Effect.Effect<void, never, Scope.Scope> =>
      !enabled ? Effect.void : Effect.suspend(() => {
        online.set(guildKey(ref), ref)
        return Effect.asVoid(Effect.forkScoped(setOnline(ref)))
      })

    return { connected } as const
  })
}) {}
