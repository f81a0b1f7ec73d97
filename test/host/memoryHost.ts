/**
 * The host server over an in-memory transport: the test writes lines in and reads the lines
 * the plugin wrote, with a fake Activation. For fast protocol tests; the end-to-end suite
 * drives the real subprocess.
 */
import { NodeContext } from "@effect/platform-node"
import { Deferred, Effect, Layer, Option, Queue, Stream, SubscriptionRef } from "effect"
import { Activation, type ActivePlugin } from "../../src/host/Activation.js"
import { HostApi, HostTransport } from "../../src/host/HostApi.js"
import { HostLoggerLive } from "../../src/host/HostLogger.js"
import { HostServer } from "../../src/host/HostServer.js"
import { ProfileError } from "../../src/profile/Profile.js"
import { defaultConfig, type LoadedProfile } from "../../src/profile/ProfileSchema.js"
import { FiberRegistry } from "../../src/telemetry/FiberRegistry.js"
import { type ToolResult, UnknownTool } from "../../src/host/HostProtocol.js"
import { writtenLines } from "../support/hostWrites.js"

export const fixtureProfile: LoadedProfile = {
  root: "/profile",
  config: defaultConfig,
  identities: new Map(),
  bindings: [{ name: "fabric-main", agentId: "a1", guildNodeId: "g_1", channelId: "c_1", file: "channels/fabric-main.json" }]
}

export interface FakeActivationOptions {
  readonly profile?: Effect.Effect<LoadedProfile, ProfileError>
  readonly callTool?: (name: string, args: unknown) => Effect.Effect<ToolResult, UnknownTool>
  readonly run?: Effect.Effect<void>
}

export const fakeActivation = (options: FakeActivationOptions = {}) =>
  Layer.succeed(Activation, {
    catalog: [{ name: "send", description: "Send a message", inputSchema: { type: "object" } }],
    loadProfile: options.profile ?? Effect.succeed(fixtureProfile),
    activate: (profile): Effect.Effect<ActivePlugin> =>
      Effect.succeed({
        profile,
        callTool: options.callTool ??
          ((name) => name === "send" ? Effect.succeed({ content: [{ type: "text", text: "sent" }] }) : Effect.fail(new UnknownTool({ name }))),
        run: options.run ?? Effect.void
      })
  })

export const profileFailure = Effect.fail(
  new ProfileError({ file: "channels/bad.json", field: "agent_id", message: "expected a string, got 42" })
)

/** Starts the server; returns handles to write lines and read what it wrote. */
export const startHost = (activation: Layer.Layer<Activation>) =>
  Effect.gen(function*() {
    const input = yield* Queue.unbounded<Option.Option<Uint8Array>>()
    const written = yield* SubscriptionRef.make<ReadonlyArray<any>>([])
    const stderr: Array<string> = []
    const encoder = new TextEncoder()
    const transport = Layer.succeed(HostTransport, {
      input: Stream.fromQueue(input).pipe(Stream.takeWhile(Option.isSome), Stream.map((o) => (o as Option.Some<Uint8Array>).value)),
      write: (bytes: Uint8Array) =>
        SubscriptionRef.update(written, (all) => [
          ...all,
          ...writtenLines(bytes).map((l) => JSON.parse(l))
        ]),
      // Every line goes through the writer fiber.
      writeNow: () => false,
      diagnostic: (text: string) => {
        stderr.push(text)
      }
    })
    const layer = HostServer.Default.pipe(
      Layer.provide(activation),
      Layer.provideMerge(HostLoggerLive),
      Layer.provideMerge(HostApi.Default),
      Layer.provideMerge(FiberRegistry.Default),
      Layer.provide(transport),
      Layer.provide(NodeContext.layer)
    )
    const done = yield* Deferred.make<void>()
    yield* Effect.flatMap(HostServer, (server) => server.serve).pipe(
      Effect.scoped,
      Effect.provide(layer),
      Effect.ensuring(Deferred.succeed(done, void 0)),
      Effect.forkScoped
    )
    const send = (line: string) => Queue.offer(input, Option.some(encoder.encode(line + "\n")))
    const waitFor = (predicate: (message: any) => boolean) =>
      written.changes.pipe(
        Stream.map((all) => all.find(predicate)),
        Stream.filter((m) => m !== undefined),
        Stream.runHead,
        Effect.map(Option.getOrThrow),
        Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("timed out waiting for a message from the plugin") })
      )
    return {
      send,
      request: (id: number | string, method: string, params?: unknown) =>
        send(JSON.stringify({ jsonrpc: "2.0", id, method, params })).pipe(
          Effect.zipRight(waitFor((m) => m.id === id && ("result" in m || "error" in m)))
        ),
      waitFor,
      written: SubscriptionRef.get(written),
      stderr: () => stderr.join(""),
      endInput: Queue.offer(input, Option.none()),
      stopped: Deferred.await(done)
    }
  })
