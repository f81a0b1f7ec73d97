/**
 * The reconnect policy, driven by TestClock through the same `Effect.repeat` the Supervisor
 * uses: each scripted session records when it started and reports how long it stayed up.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Clock, Duration, Effect, Fiber, TestClock } from "effect"
import { reconnectPolicy } from "../../src/inbound/Timing.js"

/** Waits until the loop sleeps (a backoff or a session's uptime), then jumps to its end. */
const nextWake = Effect.gen(function*() {
  while (true) {
    const sleeps = yield* TestClock.sleeps()
    if (Chunk.isNonEmpty(sleeps)) return yield* TestClock.setTime(Chunk.headNonEmpty(sleeps))
    yield* Effect.yieldNow()
  }
})

/** Runs `attempts` sessions; session n stays up `uptime(n)` ms. Returns each start time. */
const runSessions = (attempts: number, uptime: (n: number) => number) =>
  Effect.gen(function*() {
    const starts: Array<number> = []
    const session = Effect.gen(function*() {
      starts.push(yield* Clock.currentTimeMillis)
      const up = uptime(starts.length)
      if (up > 0) yield* Effect.sleep(Duration.millis(up))
      return { upFor: Duration.millis(up) }
    })
    const loop = yield* Effect.fork(Effect.repeat(session, reconnectPolicy))
    while (starts.length < attempts) yield* nextWake
    yield* Fiber.interrupt(loop)
    return starts
  })

/** The backoff before each reconnect: the gap between a session's end and the next start. */
const backoffs = (starts: ReadonlyArray<number>, uptime: (n: number) => number) =>
  starts.slice(1).map((start, i) => Math.round(start - starts[i]! - uptime(i + 1)))

const within = (delay: number, base: number) => {
  expect(delay).toBeGreaterThanOrEqual(Math.floor(base * 0.8))
  expect(delay).toBeLessThanOrEqual(Math.ceil(base * 1.2))
}

describe("reconnectPolicy", () => {
  it.effect("backs off exponentially from 500 ms, jittered, and never waits more than 30 s", () =>
    Effect.gen(function*() {
      const never = () => 0
      const delays = backoffs(yield* runSessions(14, never), never)
      // 500 ms · 2^n: 500, 1000, 2000, … 16000, then the cap.
      delays.slice(0, 6).forEach((delay, n) => within(delay, 500 * 2 ** n))
      for (let n = 1; n < 6; n++) expect(delays[n]!).toBeGreaterThan(delays[n - 1]!)
      for (const delay of delays.slice(6)) {
        expect(delay).toBeLessThanOrEqual(30_000)
        expect(delay).toBeGreaterThanOrEqual(24_000)
      }
    }))

  it.effect("starts again from 500 ms after a connection stayed up 60 s", () =>
    Effect.gen(function*() {
      // Eight failed attempts, one healthy connection, then failures again.
      const uptime = (n: number) => (n === 9 ? 60_000 : 0)
      const delays = backoffs(yield* runSessions(12, uptime), uptime)
      expect(delays[7]!).toBeGreaterThanOrEqual(24_000)
      within(delays[8]!, 500)
      within(delays[9]!, 1000)
      within(delays[10]!, 2000)
    }))

  it.effect("keeps growing when connections drop before 60 s", () =>
    Effect.gen(function*() {
      const uptime = (n: number) => (n % 2 === 0 ? 59_000 : 0)
      const delays = backoffs(yield* runSessions(7, uptime), uptime)
      delays.forEach((delay, n) => within(delay, 500 * 2 ** n))
    }))
})
