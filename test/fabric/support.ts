/**
 * Test doubles for the Fabric client: an HttpClient answering from a script (for TestClock
 * tests, where no real socket may wait on the clock), a profile, and clock helpers that wait
 * for the code under test to sleep instead of guessing with delays.
 */
import { HttpClient, type HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Chunk, Effect, Fiber, Layer, Option, Redacted, Ref, TestClock } from "effect"
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

const toResponse = (request: HttpClientRequest.HttpClientRequest, reply: Reply) =>
  HttpClientResponse.fromWeb(
    request,
    new Response(reply.body === undefined ? null : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body), {
      status: reply.status,
      headers: { "content-type": "application/json", ...reply.headers }
    })
  )

const bodyOf = (request: HttpClientRequest.HttpClientRequest): unknown =>
  request.body._tag === "Uint8Array" ? JSON.parse(new TextDecoder().decode(request.body.body)) : undefined

/**
 * An HttpClient answering `respond(seen, index)`; every request is recorded in `seen`.
 */
export const scriptedHttp = (respond: (seen: Seen, index: number) => Step) =>
  Effect.gen(function*() {
    const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
    const client = HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const entry: Seen = { method: request.method, url, authorization: request.headers["authorization"], body: bodyOf(request) }
        const index = (yield* Ref.updateAndGet(seen, (all) => [...all, entry])).length - 1
        const step = respond(entry, index)
        return step === "hang" ? yield* Effect.never : toResponse(request, step)
      })
    )
    return { layer: Layer.succeed(HttpClient.HttpClient, client), seen, count: Effect.map(Ref.get(seen), (all) => all.length) }
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
