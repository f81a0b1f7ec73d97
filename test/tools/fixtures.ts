/**
 * Test doubles for the tools: a fixture profile (two agents, three bindings), a partial
 * FabricApi that records its calls and dies on any method a test did not give, a tracer that
 * keeps the spans, and the Tools service wired to them.
 */
import { Effect, Layer, Redacted } from "effect"
import { FabricApi } from "../../src/fabric/FabricApi.js"
import type * as C from "../../src/fabric/FabricContract.js"
import { FabricError } from "../../src/fabric/FabricError.js"
import { Typing } from "../../src/presence/Typing.js"
import { ActiveProfile, type Binding, defaultConfig, type PluginConfig } from "../../src/profile/ProfileSchema.js"
import { FiberRegistry } from "../../src/telemetry/FiberRegistry.js"
import type { ToolResult } from "../../src/host/HostProtocol.js"
import { Tools } from "../../src/tools/Tools.js"

export const ALICE = "alice"
export const BOB = "bob"
export const GUILD = "g_acme"
export const OTHER_GUILD = "g_other"
/** Alice's key: it must never show up in a tool's text. */
export const ALICE_KEY = "fab_key_alice_5ecret"

export const bindings: ReadonlyArray<Binding> = [
  { name: "general", agentId: ALICE, guildNodeId: GUILD, channelId: "c_general", file: "channels/general.json" },
  { name: "ops", agentId: BOB, guildNodeId: OTHER_GUILD, channelId: "c_ops", file: "channels/ops.json" },
  { name: "random", agentId: ALICE, guildNodeId: GUILD, channelId: "c_random", file: "channels/random.json" }
]

export const profileLayer = (root = "/nonexistent/plexum-profile", config: Partial<PluginConfig> = {}) =>
  Layer.succeed(ActiveProfile, {
    root,
    config: { ...defaultConfig, ...config },
    identities: new Map([
      [ALICE, { agentId: ALICE, apiKey: Redacted.make(ALICE_KEY), enabled: true }],
      [BOB, { agentId: BOB, apiKey: Redacted.make("fab_key_bob"), enabled: true }]
    ]),
    bindings
  })

export const channel = (id: string, name: string, x_type: C.ChannelXType = "group"): C.Channel => ({ id, name, x_type })

export const message = (id: string, channelId: string, content = "hi"): C.Message => ({
  id,
  channel_id: channelId,
  author_id: "u_alice",
  author_name: "Alice",
  content,
  wakeup: false,
  created_at: "2026-01-01T00:00:00Z"
})

export const fabricError = (reason: FabricError["reason"], extra: Partial<FabricError> = {}) =>
  new FabricError({ route: "POST /api/channels/{id}/messages", reason, message: `Fabric said ${reason}`, ...extra })

export interface Call {
  readonly method: string
  readonly args: ReadonlyArray<unknown>
}

/**
 * A FabricApi with only the given methods, each call recorded in `calls`; any other method
 * dies naming itself, so a test sees at once which call it did not expect.
 */
export const fakeFabric = (impl: Partial<FabricApi>) => {
  const calls: Array<Call> = []
  const api = new Proxy(impl, {
    get: (target, key) => {
      const method = String(key)
      const real = target[key as keyof FabricApi] as ((...args: ReadonlyArray<unknown>) => unknown) | undefined
      if (real === undefined) return () => Effect.dieMessage(`FabricApi.${method} is not part of this fake`)
      return (...args: ReadonlyArray<unknown>) => {
        calls.push({ method, args })
        return real(...args)
      }
    }
  }) as unknown as FabricApi
  const callsOf = (method: string) => calls.filter((call) => call.method === method)
  return { layer: Layer.succeed(FabricApi, api), calls, callsOf }
}

export const toolsLayer = (fabric: Layer.Layer<FabricApi>, root?: string, config: Partial<PluginConfig> = {}) =>
  Tools.Default.pipe(
    Layer.provideMerge(Typing.Default),
    Layer.provideMerge(FiberRegistry.Default),
    Layer.provide(Layer.mergeAll(fabric, profileLayer(root, config)))
  )

export const call = (name: string, args: unknown) => Effect.flatMap(Tools, (tools) => tools.call(name, args))

export const textOf = (result: ToolResult): string => {
  const only = result.content[0]
  if (result.content.length !== 1 || only?.type !== "text") throw new Error(`expected one text part, got ${JSON.stringify(result.content)}`)
  return only.text
}

/** Asserts a failed result and returns its line. */
export const errorOf = (result: ToolResult): string => {
  if (result.isError !== true) throw new Error(`expected isError, got: ${textOf(result)}`)
  return textOf(result)
}

/** Asserts a successful result and returns its text. */
export const okOf = (result: ToolResult): string => {
  if (result.isError === true) throw new Error(`expected success, got: ${textOf(result)}`)
  return textOf(result)
}

export { type RecordedSpan, recordingTracer } from "../support/recordingTracer.js"
