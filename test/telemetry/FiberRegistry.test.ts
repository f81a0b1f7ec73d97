import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Metric, Scope, TestClock } from "effect"
import { activeFibers } from "../../src/telemetry/Metrics.js"
import { debugFibersResult, type FiberKind, FiberRegistry } from "../../src/telemetry/FiberRegistry.js"

const gauge = (kind: FiberKind) =>
  Metric.value(activeFibers.pipe(Metric.tagged("kind", kind))).pipe(Effect.map((state) => state.value))

/** Tracks `info` in a scope of its own, so the test decides when that fiber "ends". */
const trackIn = (registry: FiberRegistry, info: Parameters<FiberRegistry["track"]>[0]) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const tracked = yield* registry.track(info).pipe(Scope.extend(scope))
    return { tracked, end: Scope.close(scope, Exit.void) }
  })

describe("FiberRegistry", () => {
  it.effect("lists live fibers sorted by kind, agent, guild and channel, and forgets them when their scope closes", () =>
    Effect.gen(function*() {
      const registry = yield* FiberRegistry
      yield* TestClock.setTime(Date.UTC(2026, 0, 2, 3, 4, 5))
      const worker = yield* trackIn(registry, { kind: "catchup", agent_id: "a2", channel_id: "c_9", state: "idle" })
      const sessionB = yield* trackIn(registry, { kind: "socket_session", agent_id: "a1", guild_node_id: "g_2", state: "connecting" })
      const sessionA = yield* trackIn(registry, { kind: "socket_session", agent_id: "a1", guild_node_id: "g_1", state: "connecting" })
      yield* trackIn(registry, { kind: "catchup", agent_id: "a1", channel_id: "c_1", state: "idle" })

      const all = yield* registry.snapshot
      expect(all.map((f) => [f.kind, f.agent_id, f.guild_node_id ?? f.channel_id])).toEqual([
        ["catchup", "a1", "c_1"],
        ["catchup", "a2", "c_9"],
        ["socket_session", "a1", "g_1"],
        ["socket_session", "a1", "g_2"]
      ])
      expect(new Set(all.map((f) => f.id)).size).toBe(4)
      expect(all[0]!.started_at).toBe("2026-01-02T03:04:05.000Z")
      expect(yield* gauge("socket_session")).toBe(2)
      expect(yield* gauge("catchup")).toBe(2)

      yield* sessionB.end
      yield* worker.end
      const left = yield* registry.snapshot
      expect(left.map((f) => [f.kind, f.agent_id])).toEqual([["catchup", "a1"], ["socket_session", "a1"]])
      expect(left.find((f) => f.kind === "socket_session")!.guild_node_id).toBe("g_1")
      expect(yield* gauge("socket_session")).toBe(1)
      expect(yield* gauge("catchup")).toBe(1)
      yield* sessionA.end
      expect(yield* gauge("socket_session")).toBe(0)
    }).pipe(Effect.provide(FiberRegistry.Default)))

  it.effect("applies updates to the live entry and ignores them once the fiber is gone", () =>
    Effect.gen(function*() {
      const registry = yield* FiberRegistry
      const session = yield* trackIn(registry, { kind: "socket_session", agent_id: "a1", guild_node_id: "g_1", state: "connecting" })
      yield* session.tracked.update({ state: "backoff", attempt: 3, last_error: "connect_error: refused" })
      expect(yield* registry.snapshot).toMatchObject([
        { kind: "socket_session", state: "backoff", attempt: 3, last_error: "connect_error: refused" }
      ])
      yield* session.tracked.update({ state: "connected" })
      expect((yield* registry.snapshot)[0]).toMatchObject({ state: "connected", attempt: 3 })

      yield* session.end
      yield* session.tracked.update({ state: "connected" })
      expect(yield* registry.snapshot).toEqual([])
    }).pipe(Effect.provide(FiberRegistry.Default)))

  it.effect("keeps the gauge exact under concurrent track and untrack", () =>
    Effect.gen(function*() {
      const registry = yield* FiberRegistry
      const fibers = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => trackIn(registry, { kind: "catchup", agent_id: `a${i}`, state: "running" }),
        { concurrency: "unbounded" }
      )
      expect(yield* gauge("catchup")).toBe(50)
      yield* Effect.forEach(fibers.slice(0, 30), (f) => f.end, { concurrency: "unbounded" })
      expect(yield* gauge("catchup")).toBe(20)
      expect((yield* registry.snapshot).length).toBe(20)
    }).pipe(Effect.provide(FiberRegistry.Default)))

  it.scoped("removes the entry when the tracking fiber is interrupted", () =>
    Effect.gen(function*() {
      const registry = yield* FiberRegistry
      const registered = yield* Deferred.make<void>()
      const fiber = yield* registry.track({ kind: "resync", agent_id: "a1", guild_node_id: "g_1", state: "waiting" }).pipe(
        Effect.zipRight(Deferred.succeed(registered, undefined)),
        Effect.zipRight(Effect.never),
        Effect.scoped,
        Effect.forkScoped
      )
      yield* Deferred.await(registered)
      expect((yield* registry.snapshot).map((f) => f.kind)).toEqual(["resync"])
      expect(yield* gauge("resync")).toBe(1)
      yield* Fiber.interrupt(fiber)
      expect(yield* registry.snapshot).toEqual([])
      expect(yield* gauge("resync")).toBe(0)
    }).pipe(Effect.provide(FiberRegistry.Default)))
})

describe("debugFibersResult", () => {
  it("returns the fibers as given, a count for every kind and its states, zero included", () => {
    const fibers = [
      { id: 2, kind: "catchup", agent_id: "a1", channel_id: "c_1", state: "idle", started_at: "2026-01-01T00:00:00.000Z" },
      { id: 1, kind: "socket_session", agent_id: "a1", guild_node_id: "g_1", state: "connected", started_at: "2026-01-01T00:00:00.000Z" },
      { id: 3, kind: "socket_session", agent_id: "a2", guild_node_id: "g_1", state: "backoff", attempt: 2, last_error: "timeout", started_at: "2026-01-01T00:00:00.000Z" }
    ] as const
    const result = debugFibersResult(fibers)
    expect(result.fibers).toEqual(fibers)
    expect(result.counts).toEqual({ socket_session: 2, resync: 0, catchup: 1, typing: 0 })
    expect(result.states).toEqual({ socket_session: { connected: 1, backoff: 1 }, resync: {}, catchup: { idle: 1 }, typing: {} })
    expect(JSON.parse(JSON.stringify(result))).toEqual(result)
    // The summary: the same counts and states, no list. A one-pass iterable is listed whole.
    expect(debugFibersResult(fibers, true)).toEqual({ counts: result.counts, states: result.states })
    expect(debugFibersResult(fibers.values())).toEqual(result)
  })
})
