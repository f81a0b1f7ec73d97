/**
 * A minimal Plexum host for the BUILT plugin (dist/bin/plugin.js): spawns it with a temporary
 * profile, speaks JSON-RPC over its stdio, and hands every inbound notification to the current
 * collector with the time its stdout chunk was read, the moment a real host could act on it,
 * and the number of Fabric messages it carries (more than one when the plugin coalesced them).
 */
import { Deferred, Duration, Effect, FiberId, Option } from "effect"
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { type Child, ChildFailed, spawnChild } from "./Child.js"
import { type Collector } from "./Collector.js"

/** The built plugin; `npm run build` makes it. bench/ compiles to dist-bench/bench/. */
export const pluginBin = resolve(dirname(fileURLToPath(import.meta.url)), "../../dist/bin/plugin.js")

const INBOUND = "notifications/plexum/channel/inbound"

export interface ProfileSpec {
  readonly centerApiBase: string
  /** Plexum agent id → Fabric api key. */
  readonly agents: Record<string, string>
  /** Binding file name → agent, guild, channel. */
  readonly bindings: Record<string, { readonly agent: string; readonly guild: string; readonly channel: string }>
  /**
   * This profile's own config.json settings (docs/configuration.md), e.g. `{ coalesce_ms: 50 }`
   * for a run that measures one setting. They win over `PLEXUM_BENCH_CONFIG`.
   */
  readonly config?: Record<string, unknown> | undefined
}

/**
 * Extra plugin config for every profile of a bench run, from the environment, e.g.
 * `PLEXUM_BENCH_CONFIG='{"live_gap_check":false}'`.
 */
const extraConfig = (): Record<string, unknown> => JSON.parse(process.env.PLEXUM_BENCH_CONFIG ?? "{}")

/** A temporary profile directory (profile.md layout), removed when the scope closes. */
export const makeProfile = (spec: ProfileSpec) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const root = await mkdtemp(join(tmpdir(), "plexum-bench-"))
      await mkdir(join(root, "plugins/plexum-fabric-channel"), { recursive: true })
      await writeFile(join(root, "plugins/plexum-fabric-channel/config.json"), JSON.stringify({ center_api_base: spec.centerApiBase, ...extraConfig(), ...spec.config }))
      const agents = Object.fromEntries(Object.entries(spec.agents).map(([id, key]) => [id, { fabric_api_key: key, enabled: true }]))
      await writeFile(join(root, "fabric-identities.json"), JSON.stringify({ version: 1, agents }))
      await chmod(join(root, "fabric-identities.json"), 0o600)
      await mkdir(join(root, "channels"), { recursive: true })
      for (const [name, b] of Object.entries(spec.bindings)) {
        await writeFile(
          join(root, "channels", `${name}.json`),
          JSON.stringify({ plugin: "plexum-fabric-channel", agent_id: b.agent, fabric_guild_node_id: b.guild, fabric_channel_id: b.channel })
        )
      }
      return root
    }),
    (root) => Effect.promise(() => rm(root, { recursive: true, force: true }))
  )

export interface PluginHost extends Child {
  readonly request: (method: string, params?: unknown, timeout?: Duration.DurationInput) => Effect.Effect<unknown, ChildFailed>
  /** Every inbound notification goes to `collector` until it is replaced or cleared. */
  readonly collectInto: (collector: Option.Option<Collector>) => Effect.Effect<void>
  /** When the first inbound notification was read. */
  readonly firstInbound: (timeout: Duration.DurationInput) => Effect.Effect<bigint, ChildFailed>
}

export const initializeParams = {
  protocolVersion: "2025-11-25",
  capabilities: {},
  clientInfo: { name: "plexum-bench", version: "1.0.0" }
}

/** `nodeArgs` go to node before the plugin's script, e.g. `--cpu-prof --cpu-prof-dir=…`. */
export const startPlugin = (profileRoot: string, nodeArgs: ReadonlyArray<string> = [], env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const waiting = new Map<number, Deferred.Deferred<unknown, ChildFailed>>()
    const first = yield* Deferred.make<bigint>()
    let collector: Option.Option<Collector> = Option.none()
    let nextId = 1
    const onLine = (line: string, readNs: bigint) => {
      // Parsing is part of the host's cost of reading a notification, so it stays in.
      const message = JSON.parse(line)
      if (message.method === INBOUND) {
        Deferred.unsafeDone(first, Effect.succeed(readNs))
        if (Option.isSome(collector)) {
          // fabric.message_id plus the earlier ids of a coalesced burst: each id once.
          const coalesced = message.params.fabric?.coalesced_message_ids?.length ?? 0
          collector.value.onMessage(readNs, message.params.message, 1 + coalesced)
        }
        return
      }
      const deferred = typeof message.id === "number" ? waiting.get(message.id) : undefined
      if (deferred === undefined) return
      waiting.delete(message.id)
      Deferred.unsafeDone(
        deferred,
        "error" in message
          ? Effect.fail(new ChildFailed({ message: `plugin answered ${JSON.stringify(message.error)}` }))
          : Effect.succeed(message.result)
      )
    }
    const child = yield* spawnChild({ args: [...nodeArgs, pluginBin], env: { PLEXUM_PROFILE_ROOT: profileRoot, ...env }, onLine })
    const host: PluginHost = {
      ...child,
      request: (method, params, timeout = "30 seconds") =>
        Effect.suspend(() => {
          const id = nextId++
          const deferred = Deferred.unsafeMake<unknown, ChildFailed>(FiberId.none)
          waiting.set(id, deferred)
          return child.write(JSON.stringify({ jsonrpc: "2.0", id, method, params })).pipe(
            Effect.zipRight(Deferred.await(deferred)),
            Effect.timeoutFail({
              duration: timeout,
              onTimeout: () => new ChildFailed({ message: `the plugin did not answer ${method}; stderr:\n${child.stderrTail()}` })
            })
          )
        }),
      collectInto: (next) => Effect.sync(() => void (collector = next)),
      firstInbound: (timeout) =>
        Deferred.await(first).pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () => new ChildFailed({ message: `no inbound notification from the plugin; stderr:\n${child.stderrTail()}` })
          })
        )
    }
    return host
  })

/** Starts the plugin and initializes it; answers the host and the time `initialize` was answered. */
export const startInitialized = (profileRoot: string, nodeArgs: ReadonlyArray<string> = [], env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const host = yield* startPlugin(profileRoot, nodeArgs, env)
    yield* host.request("initialize", initializeParams)
    const initializedNs = process.hrtime.bigint()
    yield* host.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }))
    return { host, initializedNs }
  })
