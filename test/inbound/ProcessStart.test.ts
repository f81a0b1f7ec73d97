import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { ProcessStart } from "../../src/inbound/ProcessStart.js"

describe("ProcessStart", () => {
  it.live("defaults to when this process started, not to when it is first read", () =>
    Effect.gen(function*() {
      const start = yield* ProcessStart
      const now = Date.now()
      const uptimeMs = process.uptime() * 1000
      // The test runner's process has been up for a while: the instant is that far back.
      expect(start).toBeLessThanOrEqual(now - uptimeMs + 50)
      expect(start).toBeGreaterThanOrEqual(now - uptimeMs - 1_000)
      expect(uptimeMs).toBeGreaterThan(100)
    }))

  it.effect("can be provided", () =>
    Effect.gen(function*() {
      expect(yield* ProcessStart).toBe(1_234)
    }).pipe(Effect.provideService(ProcessStart, 1_234)))
})
