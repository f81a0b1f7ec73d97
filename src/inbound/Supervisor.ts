/**
 * Inbound supervision: one fiber per (agent, guild) among the bindings whose agent has an
 * enabled identity, held in a `FiberMap` owned by the plugin's scope. Each fiber keeps a socket
 * session to its guild node for as long as the plugin runs (SocketSession: connect, load the
 * channel directory, catch up, then consume live events in batches); when the connection ends,
 * for whatever reason, it reconnects on `reconnectPolicy`.
 *
 * main.ts calls `start` after answering `initialize`; closing the plugin's scope closes every
 * socket and ends every fiber.
 */
import { Cause, Clock, Duration, Effect, FiberMap, Metric } from "effect"
import { type GuildRef, guildKey } from "../fabric/FabricApi.js"
import { GuildSocket, type SocketClosed } from "../fabric/GuildSocket.js"
import { HostApi } from "../host/HostApi.js"
import { PresenceSync } from "../presence/PresenceSync.js"
import { acquireReleasePlain } from "../Release.js"
import { ActiveProfile, enabledIdentity, type LoadedProfile } from "../profile/ProfileSchema.js"
import { Sessions } from "../sessions/Sessions.js"
import { FiberRegistry, type TrackedFiber } from "../telemetry/FiberRegistry.js"
import { openSockets, reconnects } from "../telemetry/Metrics.js"
import { annotateSpan, SpanNames, tracing, withSpanWhileTracing } from "../telemetry/Spans.js"
import { CommandSync } from "../commands/CommandSync.js"
import { ConnectWave } from "./ConnectWave.js"
import { Cursor } from "./Cursor.js"
import { INBOUND_EVENTS } from "./InboundEvent.js"
import { ProcessStart } from "./ProcessStart.js"
import { SocketSession } from "./SocketSession.js"
import { ReconnectPolicy, type SessionEnd } from "./Timing.js"

/** The (agent, guild) pairs to supervise: bound, and the agent has an enabled identity. */
export const supervisedGuilds = (profile: LoadedProfile): ReadonlyArray<GuildRef> => {
  const byKey = new Map<string, GuildRef>()
  for (const binding of profile.bindings) {
    if (enabledIdentity(profile, binding.agentId) === undefined) continue
    byKey.set(guildKey(binding), { agentId: binding.agentId, guildNodeId: binding.guildNodeId })
  }
  return [...byKey.values()]
}

/** Bound agents left out of supervision, for one line each at start. */
export const unsupervisedAgents = (profile: LoadedProfile): ReadonlyArray<string> => [
  ...new Set(profile.bindings.filter((b) => enabledIdentity(profile, b.agentId) === undefined).map((b) => b.agentId))
]

/** A token this close to its expiry is treated as expired: clocks differ a little. */
const TOKEN_EXPIRY_MARGIN_MS = 5_000

/** How one socket session ended: the reconnect policy's input. */
interface Ended extends SessionEnd {
  readonly reason: string
  readonly message: string
  /** How long the session was live; zero when it never got there. */
  readonly upFor: Duration.Duration
}

/**
 * What the fiber of one supervised (agent, guild) keeps across its sessions. Only that fiber
 * reads or writes it, so plain fields do: no Ref, no synchronization.
 */
interface SupervisedGuild {
  readonly ref: GuildRef
  readonly tracked: TrackedFiber
  /** Sessions started, this one included. */
  attempts: number
  /** No session has gone live yet since the plugin started. */
  firstConnect: boolean
  /** When the current session went live (epoch ms); undefined until it does. */
  upSince: number | undefined
  /** The last failure to connect that was warned about, so a repeat is only a debug line. */
  lastProblem: string
}

export class Supervisor extends Effect.Service<Supervisor>()("plexum-fabric/Supervisor", {
  scoped: Effect.gen(function*() {
    const profile = yield* ActiveProfile
    const sessions = yield* Sessions
    const sockets = yield* GuildSocket
    const socketSession = yield* SocketSession
    const commandSync = yield* CommandSync
    const host = yield* HostApi
    const registry = yield* FiberRegistry
    const presence = yield* PresenceSync
    const policy = yield* ReconnectPolicy
    const wave = yield* ConnectWave
    const fibers = yield* FiberMap.make<string>()
    // Messages Fabric stamped after the process started were posted while the plugin ran: new.
    const startedAt = yield* ProcessStart

    /**
     * One connection, from token to close. Fails with what ended it; never succeeds, since a
     * guild socket only ends by closing.
     */
    const connection = (guild: SupervisedGuild) =>
      Effect.gen(function*() {
        const { ref } = guild
        const access = yield* sessions.guild(ref.agentId, ref.guildNodeId)
        // A refused token, or a node dropping a socket whose token has expired: drop exactly
        // this login so the next attempt carries a fresh token. Every socket of the agent passes
        // the same generation, so sockets that drop together cause one login. A node that drops
        // sockets whose tokens are still valid (a restart) costs no login.
        const renewToken = (closed: SocketClosed) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            closed.reason === "unauthorized" ||
              (closed.reason === "server_disconnect" && !(now < access.expiresAt - TOKEN_EXPIRY_MARGIN_MS))
              ? sessions.invalidate(ref.agentId, access.generation)
              : Effect.void)
        const events = yield* wave.connecting(
          ref.guildNodeId,
          sockets.connect(access.endpoint, access.token, INBOUND_EVENTS).pipe(Effect.tapError(renewToken))
        )
        // Live events wait in the mailbox while the node still accepts the rest of a wave.
        yield* wave.settled(ref.guildNodeId)
        yield* presence.connected(ref)
        yield* acquireReleasePlain(Metric.increment(openSockets), () => Metric.incrementBy(openSockets, -1))
        // Slash commands (v1.1), beside the catch-up rather than before it; owned by this
        // connection. Bindings that declare none cost no fiber.
        if (commandSync.declares(ref)) yield* Effect.forkScoped(commandSync.connected(ref))
        return yield* socketSession.run({
          ref,
          userId: access.userId,
          events,
          initialCursor: guild.firstConnect ? Cursor.NewSince({ instantMs: startedAt }) : Cursor.Beginning(),
          // "connected" means live: the directory is loaded and the gap caught up. Only from here
          // does a close reconnect at once (reconnectPolicy): a session that keeps failing before
          // this point backs off.
          onLive: Effect.zipRight(
            Effect.map(Clock.currentTimeMillis, (now) => {
              guild.firstConnect = false
              guild.upSince = now
            }),
            guild.tracked.update({ state: "connected" })
          )
        }).pipe(
          Effect.tapError((error) => (error._tag === "SocketClosed" ? renewToken(error) : Effect.void))
        )
      }).pipe(Effect.scoped)

    /** What ended a connection, for the reconnect policy; a defect is logged and ends it too. */
    const outcomeOf = (guild: SupervisedGuild) =>
    <E extends { readonly reason: string; readonly message: string }>(cause: Cause.Cause<E>) => {
      const failure = Cause.failureOption(cause)
      if (failure._tag === "Some") return Effect.succeed({ reason: failure.value.reason, message: failure.value.message })
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
      return Effect.logError(
        `Socket session of agent ${guild.ref.agentId} in guild ${guild.ref.guildNodeId} failed unexpectedly; reconnecting.`,
        cause
      ).pipe(Effect.as({ reason: "defect", message: "an unexpected failure" }))
    }

    /** One socket session, whatever its outcome, summed up for the reconnect policy. */
    const session = (guild: SupervisedGuild) =>
      Effect.gen(function*() {
        const attempt = ++guild.attempts
        if (attempt > 1) yield* Metric.increment(reconnects)
        yield* guild.tracked.update({ state: "connecting", attempt })
        guild.upSince = undefined
        const upFor = Effect.map(Clock.currentTimeMillis, (now) =>
          guild.upSince === undefined ? Duration.zero : Duration.millis(now - guild.upSince))
        let connected = connection(guild)
        const traced = yield* tracing
        if (traced) {
          yield* Effect.annotateCurrentSpan({ attempt })
          // A graceful stop ends the session too: its span says so.
          connected = Effect.onInterrupt(connected, () =>
            Effect.flatMap(upFor, (up) => Effect.annotateCurrentSpan({ ended: "stopped", up_ms: Duration.toMillis(up) })))
        }
        const outcome = yield* Effect.catchAllCause(connected, outcomeOf(guild))
        const ended: Ended = { ...outcome, upFor: yield* upFor, wasLive: guild.upSince !== undefined }
        if (traced) yield* Effect.annotateCurrentSpan({ ended: ended.reason, up_ms: Duration.toMillis(ended.upFor) })
        yield* guild.tracked.update({ state: "backoff", last_error: ended.message })
        yield* report(guild, ended)
        // The socket was dropped because the host stopped reading: reconnecting before it reads
        // again would only fill the buffers and drop again. Catch-up then brings what was missed.
        if (ended.reason === "overflow") yield* host.awaitRoom
        return ended
      }).pipe(
        withSpanWhileTracing(SpanNames.socketSession, {
          attributes: { agent: guild.ref.agentId, guild: guild.ref.guildNodeId }
        })
      )

    /** A session that was up ends quietly; a failure to connect is a warning, once per new problem. */
    const report = (guild: SupervisedGuild, ended: Ended) => {
      const { ref } = guild
      if (ended.wasLive) {
        guild.lastProblem = ""
        return Effect.logInfo(
          `Guild socket of agent ${ref.agentId} in guild ${ref.guildNodeId} closed after ${Duration.format(ended.upFor)}: ` +
            `${ended.message}; reconnecting.`
        )
      }
      const repeated = guild.lastProblem === ended.message
      guild.lastProblem = ended.message
      const line = `Agent ${ref.agentId} cannot connect to guild ${ref.guildNodeId}: ${ended.message}. ` +
        `Retrying with backoff (up to every 30 s); see docs/inbound.md.`
      return repeated ? Effect.logDebug(line) : Effect.logWarning(line)
    }

    const superviseGuild = (ref: GuildRef) =>
      Effect.gen(function*() {
        // The fiber is this guild's alone: its annotations are set for its scope, not around it.
        yield* Effect.annotateLogsScoped({ service: "Supervisor", agent: ref.agentId, guild: ref.guildNodeId })
        const tracked = yield* registry.track({
          kind: "socket_session",
          agent_id: ref.agentId,
          guild_node_id: ref.guildNodeId,
          state: "connecting",
          attempt: 1
        })
        const guild: SupervisedGuild = { ref, tracked, attempts: 0, firstConnect: true, upSince: undefined, lastProblem: "" }
        yield* Effect.repeat(session(guild), policy)
      }).pipe(Effect.scoped)

    const start = Effect.gen(function*() {
      const guilds = supervisedGuilds(profile)
      if (profile.config.live_gap_check !== undefined) {
        yield* Effect.logWarning(
          `live_gap_check in config.json no longer has an effect: live messages are delivered without a history ` +
            `call, and a message a node failed to emit is found in the background and delivered with fabric.late ` +
            `(docs/guarantees.md). Remove the field.`
        )
      }
      for (const agentId of unsupervisedAgents(profile)) {
        yield* Effect.logWarning(
          `Agent ${agentId} has channel bindings but no enabled Fabric identity in fabric-identities.json: ` +
            `its Fabric messages are not received. Register it with plexum-fabric-register --agent-id ${agentId}.`
        )
      }
      for (const ref of guilds) yield* FiberMap.run(fibers, guildKey(ref), superviseGuild(ref), { onlyIfMissing: true })
      yield* annotateSpan({ guilds: guilds.length })
      yield* Effect.logInfo(`Inbound supervision started: ${guilds.length} guild socket(s).`)
    }).pipe(Effect.withSpan("Supervisor.start"), Effect.annotateLogs({ service: "Supervisor" }))

    return {
      /** Starts one socket fiber per supervised (agent, guild); a second call changes nothing. */
      start
    } as const
  }),
  dependencies: [GuildSocket.Default, CommandSync.Default, ConnectWave.Default]
}) {}
