/**
 * FairPermits: at most N holders, waiters served in arrival order, and an interrupted waiter
 * neither keeps its place nor loses a permit it was handed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { makeFairPermits, perNode } from "../../src/fabric/FairPermits.js"

/** Forks a holder that records its turn and holds the permit until `done` completes. */
const holder = (permits: ReturnType<typeof makeFairPermits>, name: string, order: Array<string>) =>
  Effect.gen(function*() {
    const done = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(permits.withPermit(Effect.zipRight(Effect.sync(() => order.push(name)), Deferred.await(done))))
    yield* Effect.yieldNow()
    return { fiber, finish: Deferred.succeed(done, undefined) }
  })

describe("FairPermits", () => {
  it.effect("lets N hold at once and serves the rest in arrival order", () =>
    Effect.gen(function*() {
      const permits = makeFairPermits(2)
      const order: Array<string> = []
      const [a, b, c, d, e] = yield* Effect.forEach(["a", "b", "c", "d", "e"], (name) => holder(permits, name, order))
      expect(order).toEqual(["a", "b"])
      yield* b!.finish
      yield* Fiber.join(b!.fiber)
      yield* Effect.yieldNow()
      expect(order).toEqual(["a", "b", "c"])
      yield* a!.finish
      yield* c!.finish
      yield* Fiber.join(c!.fiber)
      yield* Effect.yieldNow()
      expect(order).toEqual(["a", "b", "c", "d", "e"])
      yield* d!.finish
      yield* e!.finish
      yield* Effect.forEach([a, d, e], (h) => Fiber.join(h!.fiber))
    }))

  it.effect("a waiter interrupted in line leaves it; the permit goes to the next", () =>
    Effect.gen(function*() {
      const permits = makeFairPermits(1)
      const order: Array<string> = []
      const first = yield* holder(permits, "first", order)
      const quitter = yield* holder(permits, "quitter", order)
      const patient = yield* holder(permits, "patient", order)
      yield* Fiber.interrupt(quitter.fiber)
      yield* first.finish
      yield* Fiber.join(first.fiber)
      yield* Effect.yieldNow()
      expect(order).toEqual(["first", "patient"])
      yield* patient.finish
      yield* Fiber.join(patient.fiber)
      // Every permit is back: a new holder gets one at once.
      const last = yield* holder(permits, "last", order)
      expect(order).toEqual(["first", "patient", "last"])
      yield* last.finish
    }))

  it.effect("a failing or interrupted holder gives its permit back", () =>
    Effect.gen(function*() {
      const permits = makeFairPermits(1)
      expect(yield* Effect.flip(permits.withPermit(Effect.fail("boom")))).toBe("boom")
      const order: Array<string> = []
      const held = yield* holder(permits, "held", order)
      yield* Fiber.interrupt(held.fiber)
      const next = yield* holder(permits, "next", order)
      expect(order).toEqual(["held", "next"])
      yield* next.finish
    }))

  it.effect("perNode: one set of permits per guild node, the same one each time it is asked", () =>
    Effect.gen(function*() {
      const permitsOf = perNode(1)
      expect(permitsOf("g_1")).toBe(permitsOf("g_1"))
      const order: Array<string> = []
      const held = yield* holder(permitsOf("g_1"), "g_1 first", order)
      // Another node's permit is free while g_1's is held.
      const elsewhere = yield* holder(permitsOf("g_2"), "g_2", order)
      expect(order).toEqual(["g_1 first", "g_2"])
      yield* held.finish
      yield* elsewhere.finish
    }))
})
