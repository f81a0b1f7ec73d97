/**
 * When an early continuity check starts, under TestClock: a channel past CHECK_EARLY_AT waits
 * for a pause in its traffic, is checked without one at CHECK_NOW_AT, and leaves the check to a
 * re-sync's that started first.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, TestClock } from "effect"
import { CHECK_EARLY_AT, ChannelState } from "../../src/inbound/ChannelState.js"
import { Cursor } from "../../src/inbound/Cursor.js"
import { atPause, CHECK_NOW_AT, CHECK_PAUSE } from "../../src/inbound/EarlyCheck.js"
import { defaultConfig } from "../../src/profile/ProfileSchema.js"

const team = { id: "c_team", name: "team", x_type: "group" as const }

/** A channel that handled `count` messages since its last check and asked for an early one. */
const busyChannel = (count: number) => {
  const state = new ChannelState("a1", "g_1", team, Cursor.After({ messageId: "m_0" }), defaultConfig)
  for (let i = 1; i <= count; i++) state.handle(`m_${i}`)
  state.checkRequested = true
  return state
}

/** Starts `atPause` with a check that counts its runs. */
const watch = (state: ChannelState) =>
  Effect.gen(function*() {
    let checks = 0
    const fiber = yield* Effect.fork(atPause(state, Effect.sync(() => void (checks += 1))))
    return { fiber, checks: () => checks }
  })

/** `messages` more messages handled every 10 ms of the clock. */
const traffic = (state: ChannelState, messages: number, ticks: number) =>
  Effect.gen(function*() {
    for (let tick = 0; tick < ticks; tick++) {
      for (let i = 0; i < messages; i++) state.handle(`t_${tick}_${i}`)
      yield* TestClock.adjust(Duration.millis(10))
    }
  })

describe("atPause", () => {
  it.effect("waits while the channel keeps handling messages, and checks once it pauses", () =>
    Effect.gen(function*() {
      const state = busyChannel(CHECK_EARLY_AT)
      const { checks, fiber } = yield* watch(state)
      yield* traffic(state, 10, 100) // one second of traffic: 1,000 more, far below CHECK_NOW_AT
      expect(checks()).toBe(0)
      yield* TestClock.adjust(Duration.times(CHECK_PAUSE, 2))
      yield* Fiber.join(fiber)
      expect(checks()).toBe(1)
    }))

  it.effect("checks a channel that never pauses once it handled CHECK_NOW_AT", () =>
    Effect.gen(function*() {
      const state = busyChannel(CHECK_NOW_AT - 1_000)
      const { checks, fiber } = yield* watch(state)
      yield* traffic(state, 50, 10) // 500 more: not yet
      expect(checks()).toBe(0)
      yield* traffic(state, 50, 30) // past CHECK_NOW_AT, still without a pause
      yield* Fiber.join(fiber)
      expect(checks()).toBe(1)
    }))

  it.effect("leaves the check to a re-sync's that started meanwhile", () =>
    Effect.gen(function*() {
      const state = busyChannel(CHECK_EARLY_AT)
      const { checks, fiber } = yield* watch(state)
      yield* traffic(state, 10, 5)
      state.checkRequested = false // what Continuity.check does when it starts
      yield* TestClock.adjust(Duration.times(CHECK_PAUSE, 3))
      yield* Fiber.join(fiber)
      expect(checks()).toBe(0)
    }))
})
