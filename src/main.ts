/**
 * The root program: composes every Layer and serves the host protocol on stdio until a graceful
 * stop. Only this file knows the whole graph: `ActiveLive` and `mainLive` name every service.
 *
 * Two lifetimes:
 * - the process: transport, writer, logger, telemetry, fiber registry, HTTP client;
 * - the activated plugin, built at `initialize` from the loaded profile (sessions, Fabric REST,
 *   tools, inbound supervision), closed first on stop.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Context, Effect, Exit, Layer, Option } from "effect"
import { CenterApi } from "./fabric/CenterApi.js"
import { FabricApi } from "./fabric/FabricApi.js"
import { FabricTransport, FabricTransportLive } from "./fabric/FabricTransport.js"
import { FabricHttp } from "./fabric/FabricHttp.js"
import { GuildSocket } from "./fabric/GuildSocket.js"
import { Activation } from "./host/Activation.js"
import { HostApi, HostTransport } from "./host/HostApi.js"
import { HostLoggerLive } from "./host/HostLogger.js"
import { HostServer } from "./host/HostServer.js"
import { CommandSync } from "./commands/CommandSync.js"
import { CatchUp } from "./inbound/CatchUp.js"
import { ChannelDirectory } from "./inbound/ChannelDirectory.js"
import { ChannelQueue } from "./inbound/ChannelQueue.js"
import { ConnectWave } from "./inbound/ConnectWave.js"
import { Continuity } from "./inbound/Continuity.js"
import { CursorStore } from "./inbound/CursorStore.js"
import { Dedup } from "./inbound/Dedup.js"
import { SocketSession } from "./inbound/SocketSession.js"
import { WakePolicies } from "./inbound/WakePolicies.js"
import { Supervisor } from "./inbound/Supervisor.js"
import { PresenceSync } from "./presence/PresenceSync.js"
import { Typing } from "./presence/Typing.js"
import { Profile, resolveProfileRoot } from "./profile/Profile.js"
import { ActiveProfile, type LoadedProfile } from "./profile/ProfileSchema.js"
import { Sessions, SessionsLive } from "./sessions/Sessions.js"
import { FiberRegistry } from "./telemetry/FiberRegistry.js"
import { detached } from "./telemetry/Spans.js"
import * as Telemetry from "./telemetry/Telemetry.js"
import { Membership } from "./tools/Membership.js"
import { Tools, toolCatalog } from "./tools/Tools.js"

/**
 * Inbound: one supervised socket per agent and guild (with command sync and presence on
 * connect), each decided in batches by its SocketSession over the per-channel state of the
 * ChannelQueue. It needs a CursorStore (durable in ActiveLive; in memory in the suites that never
 * restart) and Typing, shared with the tools.
 */
export const InboundLive = Supervisor.DefaultWithoutDependencies.pipe(
  Layer.provide(Layer.mergeAll(GuildSocket.Default, CommandSync.Default, ConnectWave.Default, SocketSession.Default)),
  Layer.provide(Layer.mergeAll(ChannelDirectory.Default, Continuity.Default, CatchUp.Default, Dedup.Default, WakePolicies.Default)),
  Layer.provide(ChannelQueue.Default)
)

/**
 * Everything that lives from `initialize` to the stop, for one loaded profile. It needs the
 * ActiveProfile and, from the process (`mainLive`), HostApi, FiberRegistry and the FabricTransport.
 * Read from the top: each line is built from the lines below it, so every service the running
 * plugin has is named here, once.
 */
export const ActiveLive = Layer.mergeAll(Tools.DefaultWithoutDependencies, InboundLive).pipe(
  // Tools: membership checks. Inbound: the durable delivery state.
  Layer.provide(Layer.mergeAll(Membership.Default, CursorStore.Default)),
  // The agent's presence and typing, shared by inbound (on connect, on delivery) and the tools.
  Layer.provideMerge(Layer.mergeAll(Typing.Default, PresenceSync.Default)),
  // The Fabric side: guild REST with the agents' logins, over one HTTP wrapper.
  Layer.provideMerge(FabricApi.DefaultWithoutDependencies),
  Layer.provideMerge(SessionsLive),
  Layer.provideMerge(CenterApi.DefaultWithoutDependencies),
  Layer.provideMerge(FabricHttp.Default),
  Layer.provide(NodeContext.layer)
)

/** `profileDir`: the `--profile` argument, else PLEXUM_PROFILE_ROOT, else ~/.plexum. */
const activationLive = (profileDir: Option.Option<string>) =>
  Layer.effect(
    Activation,
    Effect.gen(function*() {
      const profile = yield* Profile
      const root = yield* resolveProfileRoot(profileDir)
      const context = yield* Effect.context<HostApi | FiberRegistry | FabricTransport>()
      return {
        catalog: toolCatalog,
        loadProfile: profile.load(root),
        activate: (loaded: LoadedProfile) =>
          Effect.gen(function*() {
            const scope = yield* Effect.scope
            // Built outside the `initialize` request's trace: services that keep their context
            // would otherwise parent every later span (tool calls, sockets) under it.
            const active = yield* Layer.buildWithScope(
              ActiveLive.pipe(Layer.provide(Layer.succeed(ActiveProfile, loaded))),
              scope
            ).pipe(detached)
            const tools = Context.get(active, Tools)
            const sessions = Context.get(active, Sessions)
            const supervisor = Context.get(active, Supervisor)
            return {
              profile: loaded,
              callTool: tools.call,
              // Warming and supervision share the session cache: one login per agent.
              run: Effect.zipRight(Effect.forkIn(sessions.warm, scope), supervisor.start)
            }
          }).pipe(Effect.provide(context))
      }
    })
  ).pipe(Layer.provide(Profile.Default))

export const mainLive = (profileDir: Option.Option<string>) =>
  HostServer.Default.pipe(
    Layer.provide(activationLive(profileDir)),
    // After the host logger (a bad OTEL_* variable is logged, not printed on stdout), before
    // activation (everything is traced, and telemetry is flushed after sockets have closed).
    Layer.provideMerge(Telemetry.layer),
    Layer.provideMerge(HostLoggerLive),
    Layer.provideMerge(HostApi.Default),
    Layer.provideMerge(FiberRegistry.Default),
    Layer.provide(HostTransport.Stdio),
    Layer.provide(Layer.mergeAll(NodeContext.layer, FabricTransportLive))
  )

/** Serves until the host stops the plugin; closing the scope is the rest of the graceful stop. */
export const main = (profileDir: Option.Option<string>) =>
  Effect.scoped(Effect.flatMap(HostServer, (server) => server.serve)).pipe(Effect.provide(mainLive(profileDir)))

/** Runs the plugin as this process: the only place that decides the exit status. */
export const runPlugin = (profileDir: string | undefined) =>
  NodeRuntime.runMain(main(Option.fromNullable(profileDir)), {
    // The pretty logger writes to stdout, which belongs to the protocol; HostLogger logs instead.
    disablePrettyLogger: true,
    // Exit explicitly once the graceful stop is done: a handle a library left open must not
    // keep the process alive past the host's budget. A stop by signal is graceful: status 0.
    teardown: (exit) => process.exit(Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? 1 : 0)
  })
