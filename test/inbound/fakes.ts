/**
 * Small test doubles for the inbound services: a FiberRegistry that shows what is alive, a
 * profile with chosen settings, a partial FabricApi, and the real HostApi recording the inbound notifications it writes.
 */
import { type Duration, Effect, Layer, Option, Stream, SubscriptionRef } from "effect"
import { HostApi, HostTransport } from "../../src/host/HostApi.js"
import { type Inbound, Methods } from "../../src/host/HostProtocol.js"
import { FabricApi } from "../../src/fabric/FabricApi.js"
import { ActiveProfile, defaultConfig, type Binding, type Identity, type PluginConfig } from "../../src/profile/ProfileSchema.js"
import { debugFibersResult, FiberRegistry, type FiberInfo } from "../../src/telemetry/FiberRegistry.js"
import { writtenLines } from "../support/hostWrites.js"

/** A FiberRegistry whose `snapshot` lists the fibers whose scope is still open. */
export const recordingRegistry = () => {
  const alive = new Map<number, FiberInfo>()
  let next = 0
  const registry = FiberRegistry.make({
    track: (info) =>
      Effect.gen(function*() {
        const id = ++next
        alive.set(id, { ...info, id, started_at: new Date(0).toISOString() })
        yield* Effect.addFinalizer(() => Effect.sync(() => alive.delete(id)))
        return {
          update: (patch) =>
            Effect.sync(() => {
              const current = alive.get(id)
              if (current) alive.set(id, { ...current, ...patch })
            })
        }
      }),
    snapshot: Effect.sync(() => [...alive.values()]),
    debugFibers: (summary) => Effect.sync(() => debugFibersResult(alive.values(), summary))
  })
  const ofKind = (kind: FiberInfo["kind"]) => [...alive.values()].filter((f) => f.kind === kind)
  return { layer: Layer.succeed(FiberRegistry, registry), ofKind }
}

export const testProfile = (options: {
  readonly config?: Partial<PluginConfig>
  readonly agents?: ReadonlyArray<string>
  readonly disabled?: ReadonlyArray<string>
  readonly bindings?: ReadonlyArray<Omit<Binding, "file">>
} = {}) => {
  const identities = new Map<string, Identity>()
  for (const agentId of options.agents ?? []) identities.set(agentId, { agentId, apiKey: undefined as never, enabled: true })
  for (const agentId of options.disabled ?? []) identities.set(agentId, { agentId, apiKey: undefined as never, enabled: false })
  return Layer.succeed(ActiveProfile, {
    root: "profile",
    config: { ...defaultConfig, ...options.config },
    identities,
    bindings: (options.bindings ?? []).map((b) => ({ ...b, file: `channels/${b.name}.json` }))
  })
}

/** A FabricApi with only the given methods; any other call dies, naming the method. */
export const partialFabric = (impl: Partial<FabricApi>) =>
  Layer.succeed(
    FabricApi,
    new Proxy(impl, {
      get: (target, key) =>
        key in target ? target[key as keyof typeof target] : () => Effect.dieMessage(`FabricApi.${String(key)} is not faked`)
    }) as FabricApi
  )

/**
 * The real HostApi over an in-memory transport: the inbound notifications it writes are parsed
 * back and kept, in order. `waitFor` waits (with a timeout, never a sleep) until a predicate
 * over everything delivered so far holds.
 */
export const recordingHost = Effect.gen(function*() {
  const delivered = yield* SubscriptionRef.make<ReadonlyArray<Inbound>>([])
  const transport = Layer.succeed(HostTransport, {
    input: Stream.never,
    write: (bytes: Uint8Array) =>
      SubscriptionRef.update(delivered, (all) => [
        ...all,
        ...writtenLines(bytes).map((line) => JSON.parse(line)).filter((m) => m.method === Methods.inbound)
          .map((m) => m.params as Inbound)
      ]),
    // Every line goes through the writer fiber.
    writeNow: () => false,
    diagnostic: () => {}
  })
  const waitFor = (
    predicate: (all: ReadonlyArray<Inbound>) => boolean,
    timeout: Duration.DurationInput = "10 seconds"
  ): Effect.Effect<ReadonlyArray<Inbound>, Error> =>
    delivered.changes.pipe(
      Stream.filter(predicate),
      Stream.runHead,
      Effect.map(Option.getOrThrow),
      Effect.timeout(timeout),
      Effect.catchTag("TimeoutException", () =>
        Effect.flatMap(SubscriptionRef.get(delivered), (all) =>
          Effect.fail(new Error(`timed out waiting for inbound notifications; got ${JSON.stringify(all.map((i) => i.message))}`))))
    )
  return {
    layer: HostApi.Default.pipe(Layer.provide(transport)),
    delivered: SubscriptionRef.get(delivered),
    waitFor,
    /** Waits for `count` notifications, then returns them. */
    waitForCount: (count: number, timeout?: Duration.DurationInput) => waitFor((all) => all.length >= count, timeout)
  }
})
