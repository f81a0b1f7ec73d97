/**
 * CatchUp against the real sim, over real HTTP: forward from the cursor, the first run's "new
 * since start", channels found by re-sync, the cap and its exact warning, unreadable channels
 * and the concurrency bound.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Layer, Logger } from "effect"
import type { Channel } from "../../src/fabric/FabricContract.js"
import type { Inbound } from "../../src/host/HostProtocol.js"
import { CatchUp } from "../../src/inbound/CatchUp.js"
import { ChannelState } from "../../src/inbound/ChannelState.js"
import { Cursor } from "../../src/inbound/Cursor.js"
import type { SessionView } from "../../src/inbound/Decide.js"
import { IdRing } from "../../src/inbound/IdRing.js"
import { AgentLoopGuard, OncePer, WakeAdmission } from "../../src/inbound/WakeAdmission.js"
import { ActiveProfile, defaultConfig, type PluginConfig } from "../../src/profile/ProfileSchema.js"
import { Sim } from "../../src/sim/Sim.js"
import { FiberRegistry } from "../../src/telemetry/FiberRegistry.js"
import { fabricLayer, newProbe } from "./catchupSimLayers.js"

const AGENTS = ["agent-a", "agent-b"] as const

/** A guild with two agents and a human, a group channel, and the catch-up stack wired to it. */
const fixture = (config: Partial<PluginConfig> = {}, postedBeforeStart = 0) =>
  Effect.gen(function*() {
    const sim = yield* Sim.start()
    const guild = yield* sim.createGuild({ name: "Acme" })
    const human = yield* sim.createUser({ display_name: "Ada" })
    const agents = yield* Effect.forEach(AGENTS, (name) => sim.createAgent({ display_name: name }))
    for (const user of [human, ...agents]) yield* sim.addMember(guild.node_id, user.id)
    const group = (name: string) =>
      sim.createChannel(guild.node_id, { name, x_type: "group", member_ids: [human.id, ...agents.map((a) => a.id)] })
    const general = yield* group("general")

    const probe = newProbe()
    const warnings: Array<string> = []
    const profile = Layer.succeed(ActiveProfile, {
      root: "profile",
      config: { ...defaultConfig, center_api_base: sim.centerApiBase, ...config },
      identities: new Map(AGENTS.map((id, i) => [id, { agentId: id, apiKey: agents[i]!.api_key, enabled: true }])),
      bindings: []
    })
    const layer = CatchUp.Default.pipe(
      Layer.provideMerge(FiberRegistry.Default),
      Layer.provide(fabricLayer(probe)),
      Layer.provide(profile),
      Layer.merge(Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ logLevel, message }) => {
          if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
        })
      ))
    )
    const post = (channelId: string, count: number, wakeup = true) =>
      sim.postBurst(guild.node_id, channelId, { author_id: human.id, content: "hello", wakeup, count })
    // Fabric stamps created_at in milliseconds: the plugin's start must not share a millisecond
    // with a message, or "posted after the start" is ambiguous.
    const nextMillisecond = Effect.flatMap(Clock.currentTimeMillis, (start) =>
      Effect.repeat(Clock.currentTimeMillis, { until: (now) => now > start }))
    if (postedBeforeStart > 0) yield* post(general.id, postedBeforeStart).pipe(Effect.zipRight(nextMillisecond))
    const context = yield* Layer.build(layer)
    const startedAt = yield* Clock.currentTimeMillis
    yield* nextMillisecond
    const history = (channelId: string, wakingOnly = true) =>
      Effect.map(sim.messages(guild.node_id, channelId), (all) => all.filter((m) => !wakingOnly || m.wakeup).map((m) => m.id))

    // What each agent keeps across catch-ups: its channel states and its memory.
    const kept = new Map(AGENTS.map((id) => [id, { states: new Map<string, ChannelState>(), memory: new IdRing(10_000).scope(guild.node_id) }]))

    /** One catch-up run for `agentId`: the message ids it delivered, per channel, in order. */
    const catchUp = (channels: ReadonlyArray<Channel>, firstConnect: boolean, agentId: (typeof AGENTS)[number] = AGENTS[0]) =>
      Effect.gen(function*() {
        const mine = kept.get(agentId)!
        const handed = new Map<string, Array<string>>()
        const view: SessionView = {
          recipient: { agentId, guildNodeId: guild.node_id, userId: agents[AGENTS.indexOf(agentId)]!.id },
          bindings: [{ name: `fabric-${agentId}`, agentId, guildNodeId: guild.node_id, channelId: general.id, file: "channels/x.json" }],
          memory: mine.memory,
          admission: new WakeAdmission(defaultConfig, agentId),
          loopGuard: new AgentLoopGuard(),
          refusalInfo: new OncePer(3_600_000),
          loopWarning: new OncePer(60_000),
          agentUsers: new Set(),
          pending: new Set(),
          channel: (id) => channels.find((c) => c.id === id),
          joined: () => {},
          left: () => {},
          stateOf: (channel) => {
            let state = mine.states.get(channel.id)
            if (state === undefined) {
              const cursor = firstConnect ? Cursor.NewSince({ instantMs: startedAt }) : Cursor.Beginning()
              state = new ChannelState(agentId, guild.node_id, channel, cursor, defaultConfig)
              mine.states.set(channel.id, state)
            }
            return state
          }
        }
        const emit = (batch: { readonly lines: ReadonlyArray<string> }) =>
          Effect.sync(() => {
            for (const line of batch.lines) {
              const inbound = JSON.parse(line).params as Inbound
              handed.set(inbound.fabric.channel_id, [...(handed.get(inbound.fabric.channel_id) ?? []), inbound.fabric.message_id])
            }
          })
        yield* (yield* CatchUp).run({ ref: { agentId, guildNodeId: guild.node_id }, view, tracing: false, emit }, channels)
        return handed
      }).pipe(Effect.provide(context))

    const cursorOf = (channelId: string, agentId: (typeof AGENTS)[number] = AGENTS[0]) => kept.get(agentId)!.states.get(channelId)?.cursor

    return { sim, guild, human, agents, general, group, post, history, catchUp, cursorOf, probe, warnings }
  })

describe("CatchUp against the sim", () => {
  it.scopedLive("first connect delivers only what was posted after the plugin started", () =>
    Effect.gen(function*() {
      const { catchUp, cursorOf, general, history, post } = yield* fixture({}, 12)
      yield* post(general.id, 3)
      const handed = yield* catchUp([general], true)
      const all = yield* history(general.id)
      expect(handed.get(general.id)).toEqual(all.slice(12))
      expect(cursorOf(general.id)).toEqual(Cursor.After({ messageId: all.at(-1)! }))
    }))

  it.scopedLive("an empty channel at start keeps its start instant: what is posted later is new", () =>
    Effect.gen(function*() {
      const { catchUp, cursorOf, general, history, post } = yield* fixture()
      expect((yield* catchUp([general], true)).size).toBe(0)
      expect(cursorOf(general.id)?._tag).toBe("NewSince")
      yield* post(general.id, 2)
      expect((yield* catchUp([general], false)).get(general.id)).toEqual(yield* history(general.id))
    }))

  it.scopedLive("fills the gap after a drop forward from the cursor, in posting order, reading only what was missed", () =>
    Effect.gen(function*() {
      const { catchUp, general, history, post, probe } = yield* fixture()
      yield* post(general.id, 5)
      yield* catchUp([general], false)
      yield* post(general.id, 130, true)
      yield* post(general.id, 20, false)
      const calls = probe.calls
      const handed = yield* catchUp([general], false)
      expect(handed.get(general.id)).toEqual((yield* history(general.id)).slice(5))
      // 150 missed messages: two pages forward, nothing older read again.
      expect(probe.calls - calls).toBe(2)
      // Nothing new: nothing delivered, one call.
      expect((yield* catchUp([general], false)).size).toBe(0)
      expect(probe.calls - calls).toBe(3)
    }))

  it.scopedLive("past catchup_max_messages it delivers in order up to the cap and warns with the exact count left", () =>
    Effect.gen(function*() {
      const { catchUp, cursorOf, general, history, post, warnings } = yield* fixture({ catchup_max_messages: 20 })
      yield* post(general.id, 3)
      yield* catchUp([general], false)
      yield* post(general.id, 150)
      yield* post(general.id, 40, false)
      const handed = yield* catchUp([general], false)
      const all = yield* history(general.id)
      expect(handed.get(general.id)).toEqual(all.slice(3, 23))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(`"general" (${general.id})`)
      expect(warnings[0]).toContain("left 130 waking messages undelivered")
      expect(warnings[0]).toContain("catchup_max_messages (20)")
      // The cursor passed them all: the next catch-up does not deliver them late.
      expect(cursorOf(general.id)).toEqual(Cursor.After({ messageId: (yield* history(general.id, false)).at(-1)! }))
      expect((yield* catchUp([general], false)).size).toBe(0)
    }))

  it.scopedLive("a channel found by re-sync is replayed from its beginning", () =>
    Effect.gen(function*() {
      const { agents, catchUp, general, guild, history, human, sim } = yield* fixture()
      yield* catchUp([general], true)
      const dm = yield* sim.openDm(guild.node_id, human.id, agents[0]!.id)
      yield* sim.postBurst(guild.node_id, dm.id, { author_id: human.id, content: "psst", count: 7 })
      const handed = yield* catchUp([dm], false)
      expect(handed.get(dm.id)).toEqual(yield* history(dm.id, false))
      expect(handed.has(general.id)).toBe(false)
    }))

  it.scopedLive("a channel the agent cannot read is logged with the reason and asked once; the others catch up", () =>
    Effect.gen(function*() {
      const { agents, catchUp, general, group, guild, history, post, probe, sim, warnings } = yield* fixture()
      const left = yield* group("left-behind")
      yield* catchUp([general, left], false)
      yield* post(general.id, 4)
      yield* post(left.id, 4)
      yield* sim.leaveChannel(guild.node_id, agents[0]!.id, left.id)
      const before = probe.calls
      const handed = yield* catchUp([left, general], false)
      expect(handed.get(general.id)).toEqual(yield* history(general.id))
      expect(handed.has(left.id)).toBe(false)
      expect(probe.calls - before).toBe(2)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(`"left-behind" (${left.id}) gave up`)
      expect(warnings[0]).toContain("403")
    }))

  it.scopedLive("never has more history calls in flight on a guild than catchup_concurrency, across agents", () =>
    Effect.gen(function*() {
      const { catchUp, group, history, post, probe } = yield* fixture({ catchup_concurrency: 3 })
      const channels = yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => `room-${i}`), group)
      for (const channel of channels) yield* post(channel.id, 230)
      const [a, b] = yield* Effect.all([catchUp(channels, false, AGENTS[0]), catchUp(channels, false, AGENTS[1])], {
        concurrency: "unbounded"
      })
      expect(probe.maxInFlight).toBeLessThanOrEqual(3)
      expect(probe.maxInFlight).toBeGreaterThan(1)
      expect(probe.calls).toBe(2 * 8 * 3)
      for (const channel of channels) {
        const all = yield* history(channel.id)
        expect(a.get(channel.id)).toEqual(all)
        expect(b.get(channel.id)).toEqual(all)
      }
    }))
})
