/**
 * Test doubles for the Fabric client: a FabricTransport answering from a script (for TestClock
 * tests, where no real socket may wait on the clock), a profile, and clock helpers that wait
 * for the code under test to sleep instead of guessing with delays.
 */
import { Chunk, Effect, Fiber, Layer, Option, Redacted, Ref, TestClock } from "effect"
import { declaredLength, FabricTransport, type TransportRequest, TransportFailure } from "../../src/fabric/FabricTransport.js"
import { ActiveProfile, type Binding, defaultConfig, type Identity, type LoadedProfile, type PluginConfig } from "../../src/profile/ProfileSchema.js"

export interface Reply {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Record<string, string>
}

export interface Seen {
  readonly method: string
  readonly url: URL
  readonly authorization: string | undefined
  readonly body: unknown
}

/** A reply, or `"hang"` for a server that never answers. */
export type Step = Reply | "hang"

/** The reply as the real transport hands it on: its body read up to the request's limit. */
const toAnswer = (request: TransportRequest, reply: Reply) => {
  const text = reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body)
  const bytes = Buffer.from(text)
  const headers: Record<string, string> = { "content-type": "application/json" }
  for (const [name, value] of Object.entries(reply.headers ?? {})) headers[name.toLowerCase()] = value
  const limit = request.readLimit(reply.status, headers)
  return {
    status: reply.status,
    headers,
    body: limit <= 0 ? Buffer.alloc(0) : bytes.subarray(0, limit),
    complete: limit <= 0 ? declaredLength(headers) === 0 : bytes.length <= limit
  }
}

const bodyOf = (request: TransportRequest): unknown => (typeof request.body === "string" ? JSON.parse(request.body) : undefined)

/**
 * A FabricTransport answering `respond(seen, index)`; every request is recorded in `seen`. A
 * `"hang"` times out after the request's timeout on the TestClock, as the real one does.
 */
export const scriptedTransport = (respond: (seen: Seen, index: number) => Step) =>
  Effect.gen(function*() {
    const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
    const send = (request: TransportRequest) =>
      Effect.gen(function*() {
        const entry: Seen = { method: request.method, url: new URL(request.url), authorization: request.headers["authorization"], body: bodyOf(request) }
        const index = (yield* Ref.updateAndGet(seen, (all) => [...all, entry])).length - 1
        const step = respond(entry, index)
        if (step !== "hang") return toAnswer(request, step)
        return yield* Effect.never.pipe(
          Effect.timeoutFail({ duration: request.timeout, onTimeout: () => new TransportFailure({ kind: "timeout" }) })
        )
      })
    return { layer: Layer.succeed(FabricTransport, { send }), seen, count: Effect.map(Ref.get(seen), (all) => all.length) }
  })

/** Replies in order; the last one repeats. */
export const inOrder = (...steps: ReadonlyArray<Step>) => (_: Seen, index: number): Step => steps[Math.min(index, steps.length - 1)]!

/**
 * Waits until some fiber sleeps on the TestClock until a time `within` the next
 * `horizonMillis`, and answers those wake-up times. Only yields: the scripted client resolves
 * on microtasks, so this returns as soon as the code sleeps. (TestClock keeps the sleeps of
 * interrupted timeouts; a horizon below the request timeout skips them.)
 */
export const nextSleeps = (horizonMillis = Number.POSITIVE_INFINITY) =>
  Effect.gen(function*() {
    for (let spins = 0; spins < 10_000; spins++) {
      const now = yield* TestClock.currentTimeMillis
      const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps()).filter((t) => t > now && t - now <= horizonMillis)
      if (sleeps.length > 0) return sleeps
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage("nothing went to sleep on the TestClock")
  })

/** Moves the TestClock on, sleep by sleep, until `fiber` is done; answers its exit. */
export const runToEnd = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function*() {
    for (let steps = 0; steps < 1_000; steps++) {
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return done.value
      const sleeps = yield* TestClock.sleeps()
      if (Chunk.isNonEmpty(sleeps)) {
        yield* TestClock.setTime(Math.min(...sleeps))
      } else {
        yield* Effect.yieldNow()
      }
    }
    return yield* Effect.dieMessage("the fiber did not finish")
  })

export const apiKey = (agentId: string) => Redacted.make(`key-of-${agentId}`)

export const profileOf = (options: {
  readonly config?: Partial<PluginConfig>
  readonly agents?: ReadonlyArray<string>
  readonly disabled?: ReadonlyArray<string>
  readonly bindings?: ReadonlyArray<Omit<Binding, "file" | "name"> & { readonly name?: string }>
  readonly keys?: Record<string, Redacted.Redacted<string>>
} = {}): LoadedProfile => {
  const identities = new Map<string, Identity>()
  for (const agentId of options.agents ?? []) {
    identities.set(agentId, { agentId, apiKey: options.keys?.[agentId] ?? apiKey(agentId), enabled: true })
  }
  for (const agentId of options.disabled ?? []) identities.set(agentId, { agentId, apiKey: apiKey(agentId), enabled: false })
  return {
    root: "profile",
    config: { ...defaultConfig, ...options.config },
    identities,
    bindings: (options.bindings ?? []).map((b, i) => {
      const name = b.name ?? `channel-${i}`
      return { ...b, name, file: `channels/${name}.json` }
    })
  }
}

export const profileLayer = (profile: LoadedProfile) => Layer.succeed(ActiveProfile, profile)

export { type RecordedSpan, recordingTracer } from "../support/recordingTracer.js"
