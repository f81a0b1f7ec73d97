/**
 * Typing under the TestClock: the 6 s cadence, the max, the stop on a post, one loop per
 * (agent, channel), the v1-node rule, and the loops listed in the FiberRegistry.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, TestClock } from "effect"
import { FabricError } from "../../src/fabric/FabricError.js"
import { Typing } from "../../src/presence/Typing.js"
import type { PluginConfig } from "../../src/profile/ProfileSchema.js"
import { FiberRegistry } from "../../src/telemetry/FiberRegistry.js"
import { captureLogs, fakeFabric, profile, type Recorded } from "./support.js"

const notFound = (code: string) =>
  new FabricError({ route: "POST /api/channels/{id}/typing", reason: "not_found", status: 404, code, message: `404 ${code}` })
const forbidden = new FabricError({ route: "POST /api/channels/{id}/typing", reason: "forbidden", status: 403, code: "not_a_member", message: "403" })

const setup = (
  config: Partial<PluginConfig> = {},
  answer?: (call: Recorded) => Effect.Effect<void, FabricError>
) => {
  const fabric = fakeFabric(answer)
  const logs = captureLogs()
  const layer = Typing.Default.pipe(
    Layer.provideMerge(FiberRegistry.Default),
    Layer.provide(Layer.mergeAll(fabric.layer, profile(config))),
    Layer.provideMerge(logs.layer)
  )
  return { fabric, logs, layer }
}

/** Lets forked loops run up to the current test time. */
const settle = TestClock.adjust(Duration.zero)
const after = (seconds: number) => TestClock.adjust(Duration.seconds(seconds))
const typingAt = (calls: ReadonlyArray<Recorded>, channelId = "c_1") =>
  calls.filter((c) => c.method === "startTyping" && c.channelId === channelId).map((c) => c.at / 1000)
const typingFibers = Effect.map(Effect.flatMap(FiberRegistry, (r) => r.snapshot), (all) => all.filter((f) => f.kind === "typing"))

describe("Typing", () => {
  it.scoped("calls at once, then every 6 s", () => {
    const { fabric, layer } = setup()
    return Effect.gen(function*() {
      const typing = yield* Typing
      yield* typing.notified("scout", "g_1", "c_1")
      yield* settle
      expect(typingAt(fabric.calls)).toEqual([0])
      yield* after(5)
      expect(typingAt(fabric.calls)).toEqual([0])
      yield* after(1)
      yield* after(6)
      expect(typingAt(fabric.calls)).toEqual([0, 6, 12])
      expect(fabric.calls[0]).toMatchObject({ agentId: "scout", guildNodeId: "g_1" })
    }).pipe(Effect.provide(layer))
  })

  it.scoped("keeps one loop per (agent, channel) however many notifications arrive", () => {
    const { fabric, layer } = setup()
    return Effect.gen(function*() {
      const typing = yield* Typing
      for (let i = 0; i < 5; i++) yield* typing.notified("scout", "g_1", "c_1")
      yield* typing.notified("scout", "g_1", "c_2")
      yield* settle
      yield* after(3)
      yield* typing.notified("scout", "g_1", "c_1")
      yield* after(3)
      expect(typingAt(fabric.calls, "c_1")).toEqual([0, 6])
      expect(typingAt(fabric.calls, "c_2")).toEqual([0, 6])
      expect((yield* typingFibers).map((f) => [f.agent_id, f.guild_node_id, f.channel_id])).toEqual([
        ["scout", "g_1", "c_1"],
        ["scout", "g_1", "c_2"]
      ])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("stops when typing_max_seconds have passed, and leaves the registry", () => {
    const { fabric, layer } = setup({ typing_max_seconds: 20 })
    return Effect.gen(function*() {
      const typing = yield* Typing
      yield* typing.notified("scout", "g_1", "c_1")
      yield* settle
      expect(yield* typingFibers).toHaveLength(1)
      yield* after(60)
      expect(typingAt(fabric.calls)).toEqual([0, 6, 12, 18])
      expect(yield* typingFibers).toHaveLength(0)
      // A later notification starts a new window.
      yield* typing.notified("scout", "g_1", "c_1")
      yield* settle
      expect(typingAt(fabric.calls)).toEqual([0, 6, 12, 18, 60])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("stops when the agent posts in the channel, and only there", () => {
    const { fabric, layer } = setup()
    return Effect.gen(function*() {
      const typing = yield* Typing
      yield* typing.notified("scout", "g_1", "c_1")
      yield* typing.notified("scout", "g_1", "c_2")
      yield* settle
      yield* after(6)
      yield* typing.posted("scout", "c_1")
      yield* after(30)
      expect(typingAt(fabric.calls, "c_1")).toEqual([0, 6])
      expect(typingAt(fabric.calls, "c_2")).toEqual([0, 6, 12, 18, 24, 30, 36])
      expect((yield* typingFibers).map((f) => f.channel_id)).toEqual(["c_2"])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("a node answering 404 not_found is not asked again, with one info line", () => {
    const { fabric, layer, logs } = setup({}, (call) => call.guildNodeId === "g_v1" ? Effect.fail(notFound("not_found")) : Effect.void)
    return Effect.gen(function*() {
      const typing = yield* Typing
      yield* typing.notified("scout", "g_v1", "c_1")
      yield* settle
      yield* typing.notified("scout", "g_v1", "c_2")
      yield* settle
      yield* after(12)
      yield* typing.notified("scout", "g_v1", "c_3")
      yield* typing.notified("scout", "g_1", "c_9")
      yield* settle
      const v1Calls = fabric.calls.filter((c) => c.guildNodeId === "g_v1")
      // Asked once; nothing after the answer, in any channel of that node.
      expect(v1Calls.map((c) => c.channelId)).toEqual(["c_1"])
      expect(typingAt(fabric.calls, "c_9")).toEqual([12])
      const lines = logs.lines.filter((l) => l.message.includes("g_v1"))
      expect(lines).toHaveLength(1)
      expect(lines[0]!.level).toBe("INFO")
      expect(lines[0]!.message).toContain("no typing endpoint")
    }).pipe(Effect.provide(layer))
  })

  it.scoped("another failure (an unknown channel, 403) ends that loop only; the next notification tries again", () => {
    let fail = true
    const { fabric, layer } = setup({}, (call) =>
      call.channelId === "c_gone" ? Effect.fail(notFound("channel_not_found")) : fail ? Effect.fail(forbidden) : Effect.void)
    return Effect.gen(function*() {
      const typing = yield* Typing
      yield* typing.notified("scout", "g_1", "c_gone")
      yield* typing.notified("scout", "g_1", "c_1")
      yield* settle
      yield* after(12)
      expect(typingAt(fabric.calls, "c_1")).toEqual([0])
      fail = false
      yield* typing.notified("scout", "g_1", "c_1")
      yield* typing.notified("scout", "g_1", "c_gone")
      yield* settle
      expect(typingAt(fabric.calls, "c_1")).toEqual([0, 12])
      expect(typingAt(fabric.calls, "c_gone")).toEqual([0, 12])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("does nothing with typing: false", () => {
    const { fabric, layer } = setup({ typing: false })
    return Effect.gen(function*() {
      const typing = yield* Typing
      yield* typing.notified("scout", "g_1", "c_1")
      yield* settle
      yield* after(30)
      expect(fabric.calls).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("notified returns at once even while the node does not answer", () => {
    const { layer } = setup({}, () => Effect.never)
    return Effect.gen(function*() {
      const typing = yield* Typing
      yield* typing.notified("scout", "g_1", "c_1")
      yield* settle
      expect(yield* typingFibers).toHaveLength(1)
    }).pipe(Effect.provide(layer))
  })
})
