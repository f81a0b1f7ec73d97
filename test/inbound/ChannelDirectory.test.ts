/**
 * The channel directory: load, resolve with one re-sync, join/leave, and the periodic re-sync
 * under TestClock, against a scripted channel list.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, TestClock } from "effect"
import type { Channel } from "../../src/fabric/FabricContract.js"
import { FabricError } from "../../src/fabric/FabricError.js"
import { ChannelDirectory } from "../../src/inbound/ChannelDirectory.js"
import { LastSeen } from "../../src/inbound/LastSeen.js"
import { partialFabric, recordingCatchUp, recordingRegistry, testProfile } from "./fakes.js"

const REF = { agentId: "a1", guildNodeId: "g_1" }
const INTERVAL = 60

const channel = (id: string, x_type: Channel["x_type"] = "group"): Channel => ({ id, name: `name-${id}`, x_type })

const setup = () => {
  const guild = { channels: [channel("c_1")] as Array<Channel>, calls: 0, failing: false }
  const catchUp = recordingCatchUp()
  const registry = recordingRegistry()
  const fabric = partialFabric({
    listChannels: () =>
      Effect.suspend(() => {
        guild.calls += 1
        return guild.failing
          ? Effect.fail(new FabricError({ route: "GET /api/channels", reason: "unavailable", message: "guild node unavailable." }))
          : Effect.succeed([...guild.channels])
      })
  })
  const layer = ChannelDirectory.Default.pipe(
    Layer.provideMerge(LastSeen.Default),
    Layer.provide([fabric, catchUp.layer, registry.layer, testProfile({ config: { channel_sync_interval_seconds: INTERVAL } })])
  )
  const make = Effect.flatMap(ChannelDirectory, (d) => d.make(REF, () => Effect.void))
  return { guild, catchUp, registry, layer, make }
}

const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("ChannelDirectory", () => {
  it.effect("load lists the channels; a known channel resolves without a call", () => {
    const { guild, layer, make } = setup()
    return Effect.gen(function*() {
      const directory = yield* make
      expect((yield* directory.load).map((c) => c.id)).toEqual(["c_1"])
      expect(yield* directory.resolve("c_1")).toEqual(Option.some(channel("c_1")))
      expect(guild.calls).toBe(1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("an unknown channel costs one re-sync; what it finds is caught up before it is known", () => {
    const { guild, catchUp, layer, make } = setup()
    return Effect.gen(function*() {
      const directory = yield* make
      yield* directory.load
      guild.channels.push(channel("c_dm", "dm"))
      expect(yield* directory.resolve("c_dm")).toEqual(Option.some(channel("c_dm", "dm")))
      expect(guild.calls).toBe(2)
      expect(catchUp.runs).toHaveLength(1)
      expect(catchUp.runs[0]!.channels).toEqual([channel("c_dm", "dm")])
      expect(catchUp.runs[0]!.firstConnect).toBe(false)
      expect(catchUp.runs[0]!.agentId).toBe("a1")

      expect(yield* directory.resolve("c_nowhere")).toEqual(Option.none())
      expect(guild.calls).toBe(3)
      expect(catchUp.runs).toHaveLength(1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("channel.joined and channel.left keep it current; leaving forgets the watermark", () => {
    const { guild, layer, make } = setup()
    return Effect.gen(function*() {
      const directory = yield* make
      const lastSeen = yield* LastSeen
      yield* directory.load
      yield* directory.joined(channel("c_new", "dm"))
      expect(yield* directory.resolve("c_new")).toEqual(Option.some(channel("c_new", "dm")))
      yield* lastSeen.record("a1", "c_1", "m_9")
      yield* directory.left("c_1")
      expect(yield* lastSeen.get("a1", "c_1")).toEqual(Option.none())
      expect(guild.calls).toBe(1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a re-sync drops channels no longer listed and keeps the list when it fails", () => {
    const { guild, layer, make } = setup()
    return Effect.gen(function*() {
      const directory = yield* make
      guild.channels.push(channel("c_2"))
      yield* directory.load
      guild.failing = true
      yield* directory.resync
      expect(Option.isSome(yield* directory.resolve("c_2"))).toBe(true)
      guild.failing = false
      guild.channels = [channel("c_1")]
      yield* directory.resync
      // Gone, and asking again costs one more re-sync that does not bring it back.
      expect(yield* directory.resolve("c_2")).toEqual(Option.none())
    }).pipe(Effect.provide(layer))
  })

  it.scoped("re-syncs every channel_sync_interval_seconds while the session lasts", () => {
    const { guild, catchUp, registry, layer, make } = setup()
    return Effect.gen(function*() {
      const directory = yield* make
      yield* directory.load
      yield* directory.resyncPeriodically
      yield* settle
      expect(registry.ofKind("resync")).toHaveLength(1)
      yield* TestClock.adjust(Duration.seconds(INTERVAL - 1))
      yield* settle
      expect(guild.calls).toBe(1)
      guild.channels.push(channel("c_sub", "sub_discussion"))
      yield* TestClock.adjust(Duration.seconds(1))
      yield* settle
      expect(guild.calls).toBe(2)
      expect(catchUp.runs.map((r) => r.channels.map((c) => c.id))).toEqual([["c_sub"]])
      yield* TestClock.adjust(Duration.seconds(INTERVAL))
      yield* settle
      expect(guild.calls).toBe(3)
      expect(catchUp.runs).toHaveLength(1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("the periodic re-sync ends with its scope", () => {
    const { guild, registry, layer, make } = setup()
    return Effect.gen(function*() {
      const directory = yield* make
      yield* Effect.scoped(directory.resyncPeriodically)
      expect(registry.ofKind("resync")).toHaveLength(0)
      yield* TestClock.adjust(Duration.seconds(INTERVAL * 3))
      yield* settle
      expect(guild.calls).toBe(0)
    }).pipe(Effect.provide(layer))
  })
})
