/**
 * One connected guild socket of one agent, from the accepted handshake to its close: load the
 * channel directory, catch up what was missed, then consume live events in batches. Each turn
 * takes everything the socket has buffered at once, decides it with the plain functions of
 * Decide.ts, and hands the batch on with one Effect; only an event that needs I/O (a message in
 * a channel the directory does not know yet) splits a batch, and keeps its place in the order.
 *
 * Beside it, one checker fiber per session re-reads the channel list every
 * `channel_sync_interval_seconds` (catching up channels it finds) and runs the continuity checks;
 * a channel busier than that gets its check at once, on a fiber of its own. No REST call ever
 * sits between a socket event and its notification.
 */
import { Chunk, Clock, Duration, Effect, type Mailbox, Option, type Scope } from "effect"
import type { GuildRef } from "../fabric/FabricApi.js"
import type { Channel } from "../fabric/FabricContract.js"
import { perNode } from "../fabric/FairPermits.js"
import type { SocketClosed, SocketEvent } from "../fabric/GuildSocket.js"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { FiberRegistry, type TrackedFiber } from "../telemetry/FiberRegistry.js"
import { currentSpanLink } from "../telemetry/Spans.js"
import { Batch } from "./Batch.js"
import { CatchUp, type CatchUpSession } from "./CatchUp.js"
import { ChannelDirectory, type Directory } from "./ChannelDirectory.js"
import { ChannelQueue } from "./ChannelQueue.js"
import type { ChannelState } from "./ChannelState.js"
import { Continuity } from "./Continuity.js"
import { Cursor } from "./Cursor.js"
import { decideEvents, nextDue, releaseDue, type SessionView, WAKE_UP } from "./Decide.js"
import { Dedup } from "./Dedup.js"
import { atPause } from "./EarlyCheck.js"
import type { Recipient } from "./Notification.js"
import { WakePolicies } from "./WakePolicies.js"

export interface SessionParams {
  readonly ref: GuildRef
  /** The agent's Fabric user id in this guild. */
  readonly userId: string
  /** The socket's events; the session adds a `WAKE_UP` of its own when a pending burst is due. */
  readonly events: Mailbox.Mailbox<SocketEvent, SocketClosed>
  /**
   * Cursor of a channel the agent is in at this session's first load and has no state for: on
   * the first connect since the plugin started, `NewSince(start)`; later, `Beginning` (it joined
   * while the socket was down).
   */
  readonly initialCursor: Cursor
  /** Runs once the directory is loaded and the gap caught up: the session is live. */
  readonly onLive: Effect.Effect<void>
}

/** A connected session as its batches see it: the catch-up's view, and the scope its fibers run in. */
interface LiveSession extends CatchUpSession {
  readonly scope: Scope.Scope
}

export class SocketSession extends Effect.Service<SocketSession>()("plexum-fabric/SocketSession", {
  effect: Effect.gen(function*() {
    const profile = yield* ActiveProfile
    const queue = yield* ChannelQueue
    const directories = yield* ChannelDirectory
    const catchUp = yield* CatchUp
    const continuity = yield* Continuity
    const dedup = yield* Dedup
    const policies = yield* WakePolicies
    const registry = yield* FiberRegistry
    const syncInterval = Duration.seconds(profile.config.channel_sync_interval_seconds)
    /** Per guild node: the sessions loading their channel list and catching up at once. */
    const startPermitsOf = perNode(2 * profile.config.catchup_concurrency)

    /** Re-reads the channel list; channels found for the first time are caught up first. */
    const resync = (session: CatchUpSession, directory: Directory) =>
      directory.resync((fresh) => catchUp.run(session, fresh)).pipe(
        Effect.catchAll((error) =>
          Effect.logWarning(
            `Re-reading the channel list of agent ${session.ref.agentId} in guild ${session.ref.guildNodeId} failed: ` +
              `${error.message} Channels it joined meanwhile are found at the next re-sync or reconnect.`
          )
        )
      )

    const checkAll = (session: CatchUpSession, states: Iterable<readonly [ChannelState, Channel]>) =>
      Effect.forEach(states, ([state, channel]) =>
        continuity.check(session, state, channel).pipe(
          Effect.catchAll((error) =>
            Effect.logWarning(
              `Could not check channel ${channel.id} for messages its socket did not bring: ${error.message} ` +
                `The next re-sync tries again.`
            )
          )
        ), { discard: true })

    /**
     * Every interval: re-sync, then the continuity checks of the channels that handled messages
     * since their last one. It only sleeps in between: a channel too busy to wait for it gets a
     * check of its own (`consume`), so no wait here races two fibers.
     */
    const checker = (session: CatchUpSession, directory: Directory, tracked: TrackedFiber) =>
      Effect.gen(function*() {
        while (true) {
          yield* Effect.sleep(syncInterval)
          yield* tracked.update({ state: "syncing" })
          yield* resync(session, directory)
          const found: Array<readonly [ChannelState, Channel]> = []
          for (const channel of directory.channels()) {
            const state = queue.find(session.ref.agentId, session.ref.guildNodeId, channel.id)
            if (state !== undefined && state.handled.length > 0) found.push([state, channel])
          }
          yield* checkAll(session, found)
          yield* tracked.update({ state: "waiting" })
        }
      })

    /**
     * Decides one batch of socket events (from index `from`) and hands it on: one Effect for the
     * common batch. A message of an unknown channel splits it: what came before is handed on, the
     * directory is re-synced, and deciding resumes there.
     */
    const consume = (
      session: LiveSession,
      directory: Directory,
      events: ReadonlyArray<SocketEvent>,
      from: number
    ): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const batch = new Batch("socket", session.tracing, now)
        // Bursts already due go first: their messages came before these events.
        releaseDue(session.view, batch)
        const stop = decideEvents(session.view, events, from, batch)
        let busy: Array<ChannelState> | undefined
        for (const state of batch.touched) {
          if (state.wantsCheck) {
            state.checkRequested = true
            ;(busy ??= []).push(state)
          }
        }
        let handed = session.emit(batch)
        // A channel that handled CHECK_EARLY_AT messages since its last check is checked once it
        // pauses, on a fiber of the session's scope, rather than at the next interval.
        if (busy !== undefined) {
          handed = Effect.zipRight(
            handed,
            Effect.forEach(busy, (state) => Effect.forkIn(atPause(state, checkAll(session, [[state, state.channel]])), session.scope), {
              discard: true
            })
          )
        }
        return stop === events.length
          ? handed
          : Effect.zipRight(handed, afterUnknownChannel(session, directory, events, stop, batch.unknownChannel!))
      })

    /** Re-syncs the directory for the channel of `events[at]`, then decides on from there. */
    const afterUnknownChannel = (
      session: LiveSession,
      directory: Directory,
      events: ReadonlyArray<SocketEvent>,
      at: number,
      channelId: string
    ): Effect.Effect<void> =>
      Effect.zipRight(
        resync(session, directory),
        Effect.suspend(() => {
          if (directory.get(channelId) !== undefined) return consume(session, directory, events, at)
          return Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const dropped = new Batch("socket", session.tracing, now)
            dropped.received = 1
            dropped.drop("unknown_channel", "")
            dropped.problem(
              `A message arrived for agent ${session.ref.agentId} in channel ${channelId} of guild ${session.ref.guildNodeId}, ` +
                `which is not in the agent's channel list even after a re-sync; it is dropped.`
            )
            return Effect.zipRight(
              session.emit(dropped),
              at + 1 < events.length ? consume(session, directory, events, at + 1) : Effect.void
            )
          })
        })
      )

    /**
     * Runs one connected socket until it closes: fails with the `SocketClosed` that ended it, or
     * with the REST failure that kept it from going live (the directory load). Its fibers (the
     * checker, a pending burst's wake-up) live in the caller's scope: the connection's.
     */
    const run = (params: SessionParams) =>
      Effect.gen(function*() {
        const { ref } = params
        const recipient: Recipient = { agentId: ref.agentId, guildNodeId: ref.guildNodeId, userId: params.userId }
        const tracing = yield* queue.tracing
        const context = { recipient, sessionLink: tracing ? yield* currentSpanLink : Option.none() }
        const directory = yield* directories.make(ref, (channelId) => queue.forget(ref.agentId, ref.guildNodeId, channelId))
        let initialCursor = params.initialCursor
        policies.addAgentUser(params.userId)
        const view: SessionView = {
          recipient,
          bindings: profile.bindings,
          memory: dedup.memoryOf(ref.agentId, ref.guildNodeId),
          admission: policies.admissionOf(ref.agentId),
          loopGuard: policies.loopGuard,
          refusalInfo: policies.refusalInfo,
          loopWarning: policies.loopWarning,
          agentUsers: policies.agentUsers,
          pending: new Set(),
          channel: directory.get,
          joined: directory.joined,
          left: directory.left,
          stateOf: (channel) => queue.stateOf(recipient, channel, () => initialCursor)
        }
        const session: LiveSession = { ref, view, tracing, emit: (batch) => queue.emit(batch, context), scope: yield* Effect.scope }

        // Live events wait in the socket's mailbox meanwhile: each channel keeps its order. A
        // thousand sessions of one node starting at once take turns: few REST calls in flight at
        // a time, each short-lived, rather than a thousand waiting on the node together.
        yield* startPermitsOf(ref.guildNodeId).withPermit(Effect.flatMap(directory.load, (channels) => catchUp.run(session, channels)))
        // Channels found from now on were joined while the plugin ran: all of them is new.
        initialCursor = Cursor.Beginning()
        // Registered in the session's scope, which also owns the checker's fiber: both end with it.
        const tracked = yield* registry.track({
          kind: "resync",
          agent_id: ref.agentId,
          guild_node_id: ref.guildNodeId,
          state: "waiting"
        })
        yield* Effect.forkScoped(checker(session, directory, tracked))
        yield* params.onLive

        // While a burst is pending, one sleeping fiber puts a WAKE_UP in the mailbox when the first
        // is due, and the wait for events ends with it. (Racing every wait against a timer forked
        // two fibers per batch and merged their FiberRefs back.)
        let wakeAt: number | undefined
        const wakeUpAt = (due: number) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            wakeAt = due
            const wake = Effect.sync(() => {
              if (wakeAt === due) wakeAt = undefined
              params.events.unsafeOffer(WAKE_UP)
            })
            return Effect.asVoid(Effect.forkIn(Effect.zipRight(Effect.sleep(Duration.millis(Math.max(0, due - now))), wake), session.scope))
          })

        while (true) {
          const due = nextDue(view)
          if (due !== undefined && (wakeAt === undefined || due < wakeAt)) yield* wakeUpAt(due)
          // Fails with the SocketClosed that ended the connection, once what it buffered is taken.
          const [events, done] = yield* params.events.takeAll
          if (done && Chunk.isEmpty(events)) return yield* Effect.dieMessage("a guild socket's mailbox ended without a close")
          yield* consume(session, directory, Chunk.toReadonlyArray(events), 0)
        }
      })

    return { run } as const
  })
}) {}
