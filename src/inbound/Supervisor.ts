/**
 * Inbound supervision: one fiber per (agent, guild) among the bindings whose agent has an
 * enabled identity, held in a `FiberMap` owned by the plugin's scope. Each fiber keeps a socket
 * session to its guild node for as long as the plugin runs: connect, load the channel
 * directory, catch up what was missed, then consume live events; when the connection ends, for
 * whatever reason, reconnect on `reconnectPolicy`.
 *
 * main.ts calls `start` after answering `initialize`; closing the plugin's scope closes every
 * socket and ends every fiber.
 */
import { Clock, Duration, Effect, Either, FiberMap, Metric, Option, Ref, Stream } from "effect"
import type { GuildRef } from "../fabric/FabricApi.js"
import type { Channel, Message } from "../fabric/FabricContract.js"
import { PresenceSync } from "../presence/PresenceSync.js"
import { ActiveProfile, enabledIdentity, type LoadedProfile } from "../profile/ProfileSchema.js"
import { Sessions } from "../sessions/Sessions.js"
import { openSockets, reconnects } from "../telemetry/Metrics.js"
import { FiberRegistry, type TrackedFiber } from "../telemetry/FiberRegistry.js"
import { CatchUp } from "./CatchUp.js"
import { ChannelDirectory, type Directory } from "./ChannelDirectory.js"
import { GuildSocket, type SocketClosed, type SocketEvent } from "../fabric/GuildSocket.js"
import { decodeEvent, type InboundEvent } from "./InboundEvent.js"
import { countDrop, Pipeline, type Recipient } from "./Pipeline.js"
import { InboundSource, SpanNames } from "../telemetry/Spans.js"
import { isOwnMessage, wakes } from "./WakeGate.js"
import { ReconnectPolicy, type Uptime } from "./Timing.js"

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

const guildKey = (ref: GuildRef) => `${ref.agentId}\u0000${ref.guildNodeId}`

/** How one socket session ended: the reconnect policy's input. */
interface Ended extends Uptime {
  readonly reason: string
  readonly message: string
}

export class Supervisor extends Effect.Service<Supervisor>()("plexum-fabric/Supervisor", {
  scoped: Effect.gen(function*() {
    const profile = yield* ActiveProfile
    const sessions = yield* Sessions
    const sockets = yield* GuildSocket
    const directories = yield* ChannelDirectory
    const pipeline = yield* Pipeline
    const catchUp = yield* CatchUp
    const registry = yield* FiberRegistry
    const presence = yield* PresenceSync
    const policy = yield* ReconnectPolicy
    const fibers = yield* FiberMap.make<string>()

    const onMessage = Effect.fnUntraced(function*(recipient: Recipient, directory: Directory, message: Message) {
      const channel = yield* directory.resolve(message.channel_id)
      if (Option.isNone(channel)) {
        yield* Effect.logWarning(
          `Message ${message.id} arrived for agent ${recipient.agentId} in channel ${message.channel_id} of guild ` +
            `${recipient.guildNodeId}, which is not in the agent's channel list even after a re-sync; it is dropped.`
        )
        return yield* countDrop("unknown_channel")
      }
      // CatchUp checks a waking message against the watermark first, so an event the node
      // dropped without dropping the socket is delivered before it, in order.
      yield* catchUp.live({
        agentId: recipient.agentId,
        guildNodeId: recipient.guildNodeId,
        channel: channel.value,
        message,
        wakes: !isOwnMessage(message.author_id, recipient.userId) && wakes(channel.value.x_type, message.wakeup),
        deliver: (m, c) => pipeline.handle(recipient, m, c, InboundSource.socket)
      })
    })

    const onEvent = (recipient: Recipient, directory: Directory) =>
      Effect.fnUntraced(function*(raw: SocketEvent) {
        const decoded = decodeEvent(raw.name, raw.payload)
        if (Either.isLeft(decoded)) {
          yield* Effect.logWarning(
            `Dropped a "${decoded.left.event}" event from guild ${recipient.guildNodeId} (agent ${recipient.agentId}): ` +
              `${decoded.left.problem}. The guild node does not speak the Fabric contract this plugin expects; check its version.`
          )
          return yield* countDrop("malformed")
        }
        const event: InboundEvent = decoded.right
        switch (event._tag) {
          case "MessageCreated":
            return yield* onMessage(recipient, directory, event.message)
          case "ChannelJoined":
            return yield* directory.joined(event.channel)
          case "ChannelLeft":
            return yield* directory.left(event.channelId)
          // An edit is not a new turn for the agent; presence does not concern inbound delivery.
          case "MessageUpdated":
          case "PresenceUpdated":
            return
        }
      })

    /**
     * One connection, from token to close. Fails with what ended it; never succeeds, since a
     * guild socket only ends by closing.
     */
    const connection = (ref: GuildRef, tracked: TrackedFiber, firstConnect: Ref.Ref<boolean>, upSince: Ref.Ref<Option.Option<number>>) =>
      Effect.gen(function*() {
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
        const events = yield* sockets.connect(access.endpoint, access.token).pipe(Effect.tapError(renewToken))
        yield* Ref.set(upSince, Option.some(yield* Clock.currentTimeMillis))
        yield* presence.connected(ref)
        yield* Effect.acquireRelease(Metric.increment(openSockets), () => Metric.incrementBy(openSockets, -1))

        const recipient: Recipient = { agentId: ref.agentId, guildNodeId: ref.guildNodeId, userId: access.userId }
        const deliver = (message: Message, channel: Channel) => pipeline.handle(recipient, message, channel, InboundSource.catchup)
        const directory = yield* directories.make(ref, deliver)
        const channels = yield* directory.load
        // Live events wait in the socket's buffer meanwhile: each channel keeps its order, and
        // Dedup drops what both the history and the live stream carry.
        yield* catchUp.run({ ...ref, channels, firstConnect: yield* Ref.getAndSet(firstConnect, false), deliver })
        yield* directory.resyncPeriodically
        // "connected" means live: the directory is loaded and the gap caught up.
        yield* tracked.update({ state: "connected" })
        return yield* Stream.runForEach(events, onEvent(recipient, directory)).pipe(
          Effect.tapError(renewToken),
          Effect.zipRight(Effect.dieMessage("a guild socket's event stream ended without a close"))
        )
      }).pipe(Effect.scoped)

    /** One socket session, whatever its outcome, summed up for the reconnect policy. */
    const session = (ref: GuildRef, tracked: TrackedFiber, attempts: Ref.Ref<number>, firstConnect: Ref.Ref<boolean>, lastProblem: Ref.Ref<string>) =>
      Effect.gen(function*() {
        const attempt = yield* Ref.updateAndGet(attempts, (n) => n + 1)
        if (attempt > 1) yield* Metric.increment(reconnects)
        yield* tracked.update({ state: "connecting", attempt })
        yield* Effect.annotateCurrentSpan({ attempt })
        const upSince = yield* Ref.make(Option.none<number>())
        const outcome = yield* connection(ref, tracked, firstConnect, upSince).pipe(
          Effect.catchAll((error) => Effect.succeed({ reason: error.reason as string, message: error.message })),
          Effect.catchAllDefect((defect) =>
            Effect.logError(`Socket session of agent ${ref.agentId} in guild ${ref.guildNodeId} failed unexpectedly; reconnecting.`, defect).pipe(
              Effect.as({ reason: "defect", message: "an unexpected failure" })
            )
          )
        )
        const now = yield* Clock.currentTimeMillis
        const upFor = Option.match(yield* Ref.get(upSince), { onNone: () => Duration.zero, onSome: (since) => Duration.millis(now - since) })
        const ended: Ended = { ...outcome, upFor }
        yield* Effect.annotateCurrentSpan({ ended: ended.reason, up_ms: Duration.toMillis(upFor) })
        yield* tracked.update({ state: "backoff", last_error: ended.message })
        yield* report(ref, ended, lastProblem)
        return ended
      }).pipe(
        Effect.withSpan(SpanNames.socketSession, { attributes: { agent: ref.agentId, guild: ref.guildNodeId } })
      )

    /** A session that was up ends quietly; a failure to connect is a warning, once per new problem. */
    const report = (ref: GuildRef, ended: Ended, lastProblem: Ref.Ref<string>) =>
      Effect.gen(function*() {
        if (Duration.greaterThan(ended.upFor, Duration.zero)) {
          yield* Ref.set(lastProblem, "")
          return yield* Effect.logInfo(
            `Guild socket of agent ${ref.agentId} in guild ${ref.guildNodeId} closed after ${Duration.format(ended.upFor)}: ` +
              `${ended.message}; reconnecting.`
          )
        }
        const repeated = (yield* Ref.getAndSet(lastProblem, ended.message)) === ended.message
        const line = `Agent ${ref.agentId} cannot connect to guild ${ref.guildNodeId}: ${ended.message}. ` +
          `Retrying with backoff (up to every 30 s); see docs/inbound.md.`
        yield* repeated ? Effect.logDebug(line) : Effect.logWarning(line)
      })

    const superviseGuild = (ref: GuildRef) =>
      Effect.gen(function*() {
        const tracked = yield* registry.track({
          kind: "socket_session",
          agent_id: ref.agentId,
          guild_node_id: ref.guildNodeId,
          state: "connecting",
          attempt: 1
        })
        const attempts = yield* Ref.make(0)
        const firstConnect = yield* Ref.make(true)
        const lastProblem = yield* Ref.make("")
        yield* session(ref, tracked, attempts, firstConnect, lastProblem).pipe(Effect.repeat(policy))
      }).pipe(
        Effect.scoped,
        Effect.annotateLogs({ service: "Supervisor", agent: ref.agentId, guild: ref.guildNodeId })
      )

    const start = Effect.gen(function*() {
      const guilds = supervisedGuilds(profile)
      for (const agentId of unsupervisedAgents(profile)) {
        yield* Effect.logWarning(
          `Agent ${agentId} has channel bindings but no enabled Fabric identity in fabric-identities.json: ` +
            `its Fabric messages are not received. Register it with plexum-fabric-register --agent-id ${agentId}.`
        )
      }
      for (const ref of guilds) yield* FiberMap.run(fibers, guildKey(ref), superviseGuild(ref), { onlyIfMissing: true })
      yield* Effect.annotateCurrentSpan({ guilds: guilds.length })
      yield* Effect.logInfo(`Inbound supervision started: ${guilds.length} guild socket(s).`)
    }).pipe(Effect.withSpan("Supervisor.start"), Effect.annotateLogs({ service: "Supervisor" }))

    return {
      /** Starts one socket fiber per supervised (agent, guild); a second call changes nothing. */
      start,
      /** Supervised (agent, guild) fibers currently running. */
      size: FiberMap.size(fibers)
    } as const
  }),
  dependencies: [Pipeline.Default, ChannelDirectory.Default, GuildSocket.Default]
}) {}
