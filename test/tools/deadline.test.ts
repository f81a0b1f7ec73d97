/**
 * Every tool call has an overall deadline (`tool_call_timeout_seconds`, default 30 s): a Fabric
 * that never answers cannot hold the agent longer. Under TestClock; the real hung and throttling
 * nodes are in test/e2e/hostile.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, TestClock } from "effect"
import { CallDeadline } from "../../src/fabric/FabricHttp.js"
import { call, channel, errorOf, fakeFabric, message, okOf, toolsLayer } from "./fixtures.js"

describe("tool call deadline", () => {
  it.effect("a call still waiting on Fabric after 30 s ends with a line that says so", () => {
    const fake = fakeFabric({ listChannels: () => Effect.never })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(call("list_channels", { channel_name: "general" }))
      yield* TestClock.adjust("29999 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(errorOf(yield* Fiber.join(fiber))).toBe(
        "list_channels did not finish within 30s (Fabric is slow or not answering); try again later. " +
          "The operator sets this bound as tool_call_timeout_seconds"
      )
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("the requests of a call see its deadline", () => {
    const seen: Array<Option.Option<number>> = []
    const fake = fakeFabric({
      postMessage: (_g, channelId, body) =>
        Effect.map(CallDeadline, (deadline) => {
          seen.push(deadline)
          return message("m_1", channelId, body.content)
        }),
      listChannels: () => Effect.succeed([channel("c_general", "general")])
    })
    return Effect.gen(function*() {
      yield* TestClock.setTime(5_000)
      okOf(yield* call("send", { channel_name: "general", message: "hi" }))
      expect(seen).toEqual([Option.some(35_000)])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })
})
