/**
 * Presence sync: online per connect (with the activity), offline at the stop in every guild set
 * online, and a dead node cut off at the budget so the stop stays inside its 5 s.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Scope, TestClock } from "effect"
import { FabricError } from "../../src/fabric/FabricError.js"
import { OFFLINE_BUDGET, PresenceSync } from "../../src/presence/PresenceSync.js"
import type { PluginConfig } from "../../src/profile/ProfileSchema.js"
import { captureLogs, fakeFabric, profile, type Recorded } from "./support.js"

/** The service in a scope of its own, so the test decides when the stop happens. */
const open = (config: Partial<PluginConfig> = {}, answer?: (call: Recorded) => Effect.Effect<void, FabricError>) =>
  Effect.gen(function*() {
    const fabric = fakeFabric(answer)
    const logs = captureLogs()
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      PresenceSync.Default.pipe(Layer.provide(Layer.mergeAll(fabric.layer, profile(config))), Layer.provideMerge(logs.layer)),
      scope
    )
    const presence = yield* Effect.provide(PresenceSync, context)
    return { fabric, logs, presence, stop: Scope.close(scope, Exit.void), context }
  })

const settle = TestClock.adjust(Duration.zero)
const statuses = (calls: ReadonlyArray<Recorded>) => calls.map((c) => [c.status, c.agentId, c.guildNodeId, c.activity])

describe("PresenceSync", () => {
  it.scoped("sets online after each connect, with presence_activity, and offline at the stop where it did", () =>
    Effect.gen(function*() {
      const { fabric, presence, stop } = yield* open({ presence_activity: "answering in Fabric" })
      yield* presence.connected({ agentId: "scout", guildNodeId: "g_1" })
      yield* presence.connected({ agentId: "scout", guildNodeId: "g_2" })
      yield* settle
      yield* presence.connected({ agentId: "scout", guildNodeId: "g_1" }) // a reconnect
      yield* settle
      expect(statuses(fabric.calls)).toEqual([
        ["online", "scout", "g_1", "answering in Fabric"],
        ["online", "scout", "g_2", "answering in Fabric"],
        ["online", "scout", "g_1", "answering in Fabric"]
      ])
      yield* stop
      expect(statuses(fabric.calls.slice(3)).sort()).toEqual([
        ["offline", "scout", "g_1", undefined],
        ["offline", "scout", "g_2", undefined]
      ])
    }))

  it.scoped("without an activity sends none; with presence_sync false sends nothing at all", () =>
    Effect.gen(function*() {
      const plain = yield* open()
      yield* plain.presence.connected({ agentId: "scout", guildNodeId: "g_1" })
      yield* settle
      expect(statuses(plain.fabric.calls)).toEqual([["online", "scout", "g_1", undefined]])

      const off = yield* open({ presence_sync: false })
      yield* off.presence.connected({ agentId: "scout", guildNodeId: "g_1" })
      yield* settle
      yield* off.stop
      expect(off.fabric.calls).toEqual([])
    }))

  it.scoped("a failing online call is a warning, never the caller's failure", () =>
    Effect.gen(function*() {
      const failure = new FabricError({ route: "PUT /api/presence", reason: "unavailable", message: "guild g_1 cannot be reached" })
      const { logs, presence } = yield* open({}, (call) => call.status === "online" ? Effect.fail(failure) : Effect.void)
      yield* presence.connected({ agentId: "scout", guildNodeId: "g_1" })
      yield* settle
      expect(logs.lines.some((l) => l.level === "WARN" && l.message.includes("Could not set agent scout online in guild g_1"))).toBe(true)
    }))

  it.scoped("connected returns at once while the node does not answer", () =>
    Effect.gen(function*() {
      const { fabric, presence } = yield* open({}, () => Effect.never)
      yield* presence.connected({ agentId: "scout", guildNodeId: "g_1" })
      yield* settle
      expect(fabric.calls).toHaveLength(1)
    }))

  it.scoped("a dead node cannot hold the stop past the budget; the others are set offline", () =>
    Effect.gen(function*() {
      const { fabric, logs, presence, stop } = yield* open({}, (call) =>
        call.status === "offline" && call.guildNodeId === "g_dead" ? Effect.never : Effect.void)
      yield* presence.connected({ agentId: "scout", guildNodeId: "g_ok" })
      yield* presence.connected({ agentId: "scout", guildNodeId: "g_dead" })
      yield* settle
      const stopping = yield* Effect.fork(stop)
      yield* settle
      expect(fabric.calls.filter((c) => c.status === "offline").map((c) => c.guildNodeId).sort()).toEqual(["g_dead", "g_ok"])
      expect(stopping.unsafePoll()).toBeNull()
      yield* TestClock.adjust(OFFLINE_BUDGET)
      yield* Fiber.join(stopping)
      expect(logs.lines.some((l) => l.level === "WARN" && l.message.includes("did not finish within 2s"))).toBe(true)
      expect(Duration.lessThan(OFFLINE_BUDGET, Duration.seconds(5))).toBe(true)
    }))
})
