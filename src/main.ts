/**
 * The root program: composes every Layer and serves the host protocol on stdio until a graceful
 * stop. Only this file knows the whole graph; each service names what it needs.
 *
 * Two lifetimes:
 * - the process: transport, writer, logger, telemetry, fiber registry, HTTP client;
 * - the activated plugin, built at `initialize` from the loaded profile (sessions, Fabric REST,
 *   tools, inbound supervision), closed first on stop.
 */
import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import { Config, Context, Effect, Layer } from "effect"
import { homedir } from "node:os"
import { join } from "node:path"
import { CenterApi } from "./fabric/CenterApi.js"
import { FabricApi } from "./fabric/FabricApi.js"
import { Activation } from "./host/Activation.js"
import { HostApi, HostTransport } from "./host/HostApi.js"
import { HostLoggerLive } from "./host/HostLogger.js"
import { HostServer } from "./host/HostServer.js"
import { Profile } from "./profile/Profile.js"
import { ActiveProfile, type LoadedProfile } from "./profile/ProfileSchema.js"
import { Sessions } from "./sessions/Sessions.js"
import { FiberRegistry } from "./telemetry/FiberRegistry.js"
import { Tools } from "./tools/Tools.js"

/** Everything that lives from `initialize` to the stop, for one loaded profile. */
const ActiveLive = Tools.Default.pipe(
  Layer.provideMerge(FabricApi.Default),
  Layer.provideMerge(Sessions.Default),
  Layer.provideMerge(CenterApi.Default)
)

const profileRoot = Config.string("PLEXUM_PROFILE_ROOT").pipe(Config.withDefault(join(homedir(), ".plexum")))

const ActivationLive = Layer.effect(
  Activation,
  Effect.gen(function*() {
    const profile = yield* Profile
    const root = yield* profileRoot
    const context = yield* Effect.context<HostApi | FiberRegistry>()
    return {
      catalog: [],
      loadProfile: profile.load(root),
      activate: (loaded: LoadedProfile) =>
        Effect.gen(function*() {
          const scope = yield* Effect.scope
          const active = yield* Layer.buildWithScope(
            ActiveLive.pipe(Layer.provide(Layer.succeed(ActiveProfile, loaded))),
            scope
          )
          const tools = Context.get(active, Tools)
          const sessions = Context.get(active, Sessions)
          return {
            profile: loaded,
            callTool: tools.call,
            run: sessions.warm
          }
        }).pipe(Effect.provide(context))
    }
  })
).pipe(Layer.provide(Profile.Default))

export const MainLive = HostServer.Default.pipe(
  Layer.provide(ActivationLive),
  Layer.provideMerge(HostLoggerLive),
  Layer.provideMerge(HostApi.Default),
  Layer.provideMerge(FiberRegistry.Default),
  Layer.provide(HostTransport.Stdio),
  Layer.provide(Layer.mergeAll(NodeContext.layer, NodeHttpClient.layerUndici))
)

/** Serves until the host stops the plugin; closing the scope is the rest of the graceful stop. */
export const main = Effect.scoped(Effect.flatMap(HostServer, (server) => server.serve)).pipe(
  Effect.provide(MainLive)
)
