/**
 * The connect wave of a guild node, under the TestClock: a socket's REST calls wait while the
 * node still accepts other sockets of the same wave, at most CONNECT_WAVE_WAIT_MAX; a lone
 * socket, or another node's, never waits.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, type Scope, TestClock } from "effect"
import { ConnectWave } from "../../src/inbound/ConnectWave.js"
import { CONNECT_WAVE_WAIT_MAX } from "../../src/inbound/Timing.js"

/** A connect attempt to `node` that runs until `done` is completed. */
const attempt = (wave: ConnectWave, node: string) =>
  Effect.gen(function*() {
    const done = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(wave.connecting(node, Deferred.await(done)))
    yield* Effect.yieldNow()
    return { finish: Effect.zipRight(Deferred.succeed(done, void 0), Fiber.join(fiber)) }
  })

/** `body` with a fresh ConnectWave, released with the test's scope. */
const withWave = <A, E>(body: (wave: ConnectWave) => Effect.Effect<A, E, Scope.Scope>) =>
  Effect.flatMap(ConnectWave, body).pipe(Effect.provide(ConnectWave.Default))

describe("ConnectWave", () => {
  it.scoped("a node with no connect under way is settled at once", () =>
    withWave((wave) =>
      Effect.gen(function*() {
        yield* wave.connecting("g_1", Effect.void)
        yield* wave.settled("g_1")
        yield* wave.settled("g_never_seen")
      })))

  it.scoped("waits while the node accepts other sockets of the wave, and not for another node's", () =>
    withWave((wave) =>
      Effect.gen(function*() {
        const first = yield* attempt(wave, "g_1")
        const second = yield* attempt(wave, "g_1")
        const elsewhere = yield* attempt(wave, "g_2")
        yield* first.finish
        const waiting = yield* Effect.fork(wave.settled("g_1"))
        yield* Effect.yieldNow()
        expect(waiting.unsafePoll()).toBeNull()
        yield* wave.settled("g_3")
        yield* second.finish
        yield* Fiber.join(waiting)
        yield* elsewhere.finish
      })))

  it.scoped("stops holding back after CONNECT_WAVE_WAIT_MAX, even if a handshake never ends", () =>
    withWave((wave) =>
      Effect.gen(function*() {
        yield* attempt(wave, "g_1")
        yield* attempt(wave, "g_1")
        const waiting = yield* Effect.fork(wave.settled("g_1"))
        yield* TestClock.adjust(Duration.subtract(CONNECT_WAVE_WAIT_MAX, Duration.millis(1)))
        expect(waiting.unsafePoll()).toBeNull()
        yield* TestClock.adjust(Duration.millis(1))
        yield* Fiber.join(waiting)
        // A socket that connects later in the same long wave does not wait either.
        yield* wave.settled("g_1")
      })))

  it.scoped("a failed attempt leaves the wave too", () =>
    withWave((wave) =>
      Effect.gen(function*() {
        const other = yield* attempt(wave, "g_1")
        const failed = yield* wave.connecting("g_1", Effect.fail("refused")).pipe(Effect.flip)
        expect(failed).toBe("refused")
        const waiting = yield* Effect.fork(wave.settled("g_1"))
        yield* other.finish
        yield* Fiber.join(waiting)
      })))
})
