/**
 * The reconnect policy, driven by TestClock through the same `Effect.repeat` the Supervisor
 * uses: each scripted session records when it started, stays up as scripted and reports whether
 * it had been live.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Clock, Duration, Effect, Fiber, TestClock } from "effect"
import { reconnectPolicy, reconnectStep } from "../../src/inbound/Timing.js"

/** Waits until the loop sleeps (a backoff or a session's uptime), then jumps to its end. */
const nextWake = Effect.gen(function*() {
  while (true) {
    const sleeps = yield* TestClock.sleeps()
    if (Chunk.isNonEmpty(sleeps)) return yield* TestClock.setTime(Chunk.headNonEmpty(sleeps))
    yield* Effect.yieldNow()
  }
})

/** A scripted session n (from 1): live for `upMs` ms, or a failure to connect (`upMs` 0). */
type Script = (n: number) => number

/** Runs `attempts` sessions; returns each start time. */
const runSessions = (attempts: number, uptime: Script) =>
  Effect.gen(function*() {
    const starts: Array<number> = []
    const session = Effect.gen(function*() {
      starts.push(yield* Clock.currentTimeMillis)
      const up = uptime(starts.length)
      if (up > 0) yield* Effect.sleep(Duration.millis(up))
      return { wasLive: up > 0 }
    })
    const loop = yield* Effect.fork(Effect.repeat(session, reconnectPolicy))
    while (starts.length < attempts) yield* nextWake
    yield* Fiber.interrupt(loop)
    return starts
  })

/** The wait before each reconnect: the gap between a session's end and the next start. */
const backoffs = (starts: ReadonlyArray<number>, uptime: Script) =>
  starts.slice(1).map((start, i) => Math.round(start - starts[i]! - uptime(i + 1)))

const within = (delay: number, base: number) => {
  expect(delay).toBeGreaterThanOrEqual(Math.floor(base * 0.8))
  expect(delay).toBeLessThanOrEqual(Math.ceil(base * 1.2))
}

const immediate = (delay: number) => {
  expect(delay).toBeGreaterThanOrEqual(0)
  expect(delay).toBeLessThanOrEqual(250)
}

describe("reconnectPolicy", () => {
  it.effect("backs off exponentially from 500 ms across failed attempts, jittered, never above 30 s", () =>
    Effect.gen(function*() {
      const never: Script = () => 0
      const delays = backoffs(yield* runSessions(14, never), never)
      // 500 ms · 2^n: 500, 1000, 2000, … 16000, then the cap.
      delays.slice(0, 6).forEach((delay, n) => within(delay, 500 * 2 ** n))
      for (let n = 1; n < 6; n++) expect(delays[n]!).toBeGreaterThan(delays[n - 1]!)
      for (const delay of delays.slice(6)) {
        expect(delay).toBeLessThanOrEqual(30_000)
        expect(delay).toBeGreaterThanOrEqual(24_000)
      }
    }))

  it.effect("reconnects within 250 ms after every live session, however short, and never grows", () =>
    Effect.gen(function*() {
      // Sessions live for 2 s each, dropped by the node: the frequent drops.
      const live: Script = () => 2_000
      const delays = backoffs(yield* runSessions(40, live), live)
      delays.forEach(immediate)
      // Jittered, not a constant: agents dropped together spread out.
      expect(new Set(delays).size).toBeGreaterThan(1)
    }))

  it.effect("a live session resets the backoff: the next failure waits 500 ms again", () =>
    Effect.gen(function*() {
      // Eight failed attempts, one live session of 1 s, then failures again.
      const uptime: Script = (n) => (n === 9 ? 1_000 : 0)
      const delays = backoffs(yield* runSessions(12, uptime), uptime)
      expect(delays[7]!).toBeGreaterThanOrEqual(24_000)
      immediate(delays[8]!)
      within(delays[9]!, 500)
      within(delays[10]!, 1000)
    }))

  it.effect("failures in a row between live sessions grow from 500 ms each time", () =>
    Effect.gen(function*() {
      // live, fail, fail, fail, live, fail, fail, …
      const uptime: Script = (n) => (n % 4 === 1 ? 5_000 : 0)
      const delays = backoffs(yield* runSessions(10, uptime), uptime)
      immediate(delays[0]!)
      within(delays[1]!, 500)
      within(delays[2]!, 1000)
      within(delays[3]!, 2000)
      immediate(delays[4]!)
      within(delays[5]!, 500)
      within(delays[6]!, 1000)
    }))
})

describe("reconnectStep", () => {
  it("spans the whole jitter range at its random extremes", () => {
    expect(Duration.toMillis(reconnectStep(0, { wasLive: true }, 0).delay)).toBe(0)
    expect(Duration.toMillis(reconnectStep(7, { wasLive: true }, 0.9999).delay)).toBe(250)
    expect(reconnectStep(7, { wasLive: true }, 0.5).failures).toBe(0)
    expect(Duration.toMillis(reconnectStep(0, { wasLive: false }, 0).delay)).toBe(400)
    expect(Duration.toMillis(reconnectStep(0, { wasLive: false }, 0.9999).delay)).toBe(600)
    expect(reconnectStep(3, { wasLive: false }, 0.5).failures).toBe(4)
  })

  it("stays finite and within 30 s after any number of failures", () => {
    for (const failures of [6, 7, 60, 1_000, Number.MAX_SAFE_INTEGER]) {
      const high = Duration.toMillis(reconnectStep(failures, { wasLive: false }, 0.9999).delay)
      const low = Duration.toMillis(reconnectStep(failures, { wasLive: false }, 0).delay)
      expect(high).toBe(30_000)
      expect(low).toBe(24_000)
    }
  })
})
