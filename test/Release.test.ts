/**
 * acquireReleasePlain: the release runs once when the scope closes, in reverse order of
 * acquisition, and an acquisition the fiber is interrupted during still gets released.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import { acquireReleasePlain } from "../src/Release.js"

describe("acquireReleasePlain", () => {
  it.effect("releases each resource once, last acquired first, when its scope closes", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const resource = (name: string) =>
        acquireReleasePlain(Effect.sync(() => (log.push(`acquire ${name}`), name)), (got) => Effect.sync(() => void log.push(`release ${got}`)))
      const scope = yield* Scope.make()
      const got = yield* Effect.all([resource("a"), resource("b")]).pipe(Scope.extend(scope))
      expect(got).toEqual(["a", "b"])
      expect(log).toEqual(["acquire a", "acquire b"])
      yield* Scope.close(scope, Exit.void)
      yield* Scope.close(scope, Exit.void)
      expect(log).toEqual(["acquire a", "acquire b", "release b", "release a"])
    }))

  it.effect("an acquisition under way when the fiber is interrupted completes and is released", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const started = yield* Deferred.make<void>()
      const proceed = yield* Deferred.make<void>()
      const acquire = Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(proceed)).pipe(
        Effect.zipRight(Effect.sync(() => (log.push("acquired"), "socket")))
      )
      const fiber = yield* Effect.fork(
        Effect.scoped(Effect.zipRight(acquireReleasePlain(acquire, () => Effect.sync(() => void log.push("released"))), Effect.never))
      )
      yield* Deferred.await(started)
      const interruption = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* Effect.yieldNow()
      expect(log).toEqual([])
      yield* Deferred.succeed(proceed, undefined)
      yield* Fiber.join(interruption)
      expect(log).toEqual(["acquired", "released"])
    }))
})
