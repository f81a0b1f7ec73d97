/**
 * The cursor and the continuity check against the real sim, with the plugin's inbound side as
 * main.ts composes it (InboundLive): a reconnect after a busy stretch reads only what it
 * missed; a waking message missed during a drop is delivered whatever follows in other
 * channels; a message the node never emitted while the socket stayed up arrives `late`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Logger, Schedule } from "effect"
import { CHECK_EARLY_AT } from "../../src/inbound/ChannelState.js"
import { CursorStore } from "../../src/inbound/CursorStore.js"
import { ReconnectPolicy } from "../../src/inbound/Timing.js"
import { Supervisor } from "../../src/inbound/Supervisor.js"
import { InboundLive } from "../../src/main.js"
import { ActiveProfile, defaultConfig } from "../../src/profile/ProfileSchema.js"
import { Sim } from "../../src/sim/Sim.js"
import { FiberRegistry } from "../../src/telemetry/FiberRegistry.js"
import { presenceOff } from "../presence/support.js"
import { fabricLayer, newProbe } from "./catchupSimLayers.js"
import { recordingHost } from "./fakes.js"

const world = (channelSyncIntervalSeconds = 1) => Effect.gen(function*() {
  const sim = yield* Sim.start()
  const guild = yield* sim.createGuild({ name: "Acme" })
  const agent = yield* sim.createAgent({ display_name: "Scout" })
  const human = yield* sim.createUser({ display_name: "Ada" })
  for (const user of [agent, human]) yield* sim.addMember(guild.node_id, user.id)
  const general = yield* sim.createChannel(guild.node_id, { name: "general", x_type: "group", member_ids: [agent.id, human.id] })
  const dm = yield* sim.openDm(guild.node_id, human.id, agent.id)
  const probe = newProbe()
  const warnings: Array<string> = []
  const host = yield* recordingHost
  const profile = Layer.succeed(ActiveProfile, {
    root: "profile",
    config: { ...defaultConfig, center_api_base: sim.centerApiBase, channel_sync_interval_seconds: channelSyncIntervalSeconds },
    identities: new Map([["scout", { agentId: "scout", apiKey: agent.api_key, enabled: true }]]),
    bindings: [{ name: "fabric-scout", agentId: "scout", guildNodeId: guild.node_id, channelId: general.id, file: "channels/x.json" }]
  })
  const layer = InboundLive.pipe(
    Layer.provide(CursorStore.Memory),
    Layer.provide(presenceOff),
    Layer.provideMerge(Layer.mergeAll(FiberRegistry.Default, host.layer)),
    Layer.provideMerge(fabricLayer(probe)),
    Layer.provide(profile),
    // A fixed pause before every reconnect: long enough to post into the gap it leaves.
    Layer.provide(Layer.succeed(ReconnectPolicy, Schedule.spaced("700 millis").pipe(Schedule.delays))),
    Layer.provide(Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
      })
    ))
  )
  const context = yield* Layer.build(layer)
  yield* Context.get(context, Supervisor).start
  const live = (attempt: number) =>
    Context.get(context, FiberRegistry).snapshot.pipe(
      Effect.repeat({
        schedule: Schedule.spaced("20 millis"),
        until: (fibers) => fibers.some((f) => f.kind === "socket_session" && f.state === "connected" && (f.attempt ?? 1) >= attempt)
      }),
      Effect.timeout("10 seconds")
    )
  const post = (channelId: string, content: string, wakeup = false) =>
    sim.postMessage(guild.node_id, channelId, { author_id: human.id, content, wakeup })
  const burst = (channelId: string, count: number) =>
    sim.postBurst(guild.node_id, channelId, { author_id: human.id, content: "chatter", count })
  const delivered = (content: string) => host.waitFor((all) => all.some((i) => i.message === content))
  return { sim, guild, agent, general, dm, probe, warnings, host, live, post, burst, delivered }
})

describe("the cursor and the continuity check", () => {
  it.scopedLive("a reconnect after 1 waking and 600 ordinary live messages reads one history page and delivers nothing again", () =>
    Effect.gen(function*() {
      const { burst, delivered, general, guild, host, live, post, probe, sim, warnings } = yield* world()
      yield* live(1)
      yield* post(general.id, "wake", true)
      yield* burst(general.id, 600)
      yield* post(general.id, "barrier", true)
      yield* delivered("barrier")
      const calls = probe.calls
      yield* sim.dropSockets(guild.node_id)
      yield* live(2)
      yield* post(general.id, "after", true)
      yield* delivered("after")
      expect(probe.calls - calls).toBeLessThanOrEqual(2)
      expect((yield* host.delivered).map((i) => i.message)).toEqual(["wake", "barrier", "after"])
      expect(warnings.filter((w) => w.includes("catchup_max_messages"))).toEqual([])
    }))

  it.scopedLive("a waking DM missed during a drop is delivered after reconnecting, whatever followed in another channel", () =>
    Effect.gen(function*() {
      const { burst, delivered, dm, general, guild, host, live, post, sim } = yield* world()
      yield* live(1)
      yield* sim.dropSockets(guild.node_id)
      // The socket is down for the policy's 700 ms: these reach the plugin only by catch-up.
      yield* post(dm.id, "while you were away")
      yield* burst(general.id, 600)
      yield* delivered("while you were away")
      yield* live(2)
      const all = yield* host.delivered
      expect(all.filter((i) => i.message === "while you were away")).toHaveLength(1)
      expect(all.every((i) => i.fabric.late === undefined)).toBe(true)
    }))

  it.scopedLive("a message the node never emitted while the socket stayed up arrives once, marked late, at the next check", () =>
    Effect.gen(function*() {
      const { agent, delivered, dm, host, live, post, sim } = yield* world()
      yield* live(1)
      yield* post(dm.id, "first")
      yield* delivered("first")
      yield* sim.suppress(agent.id)
      yield* post(dm.id, "never emitted")
      yield* sim.resume(agent.id)
      yield* post(dm.id, "next")
      yield* delivered("never emitted")
      const all = yield* host.delivered
      expect(all.map((i) => [i.message, i.fabric.late ?? false])).toEqual([["first", false], ["next", false], ["never emitted", true]])
    }))

  it.scopedLive("a channel that handled CHECK_EARLY_AT messages since its last check is checked once it pauses, not at the next interval", () =>
    Effect.gen(function*() {
      const { agent, burst, delivered, general, host, live, post, sim } = yield* world(3_600)
      yield* live(1)
      yield* post(general.id, "first", true)
      yield* delivered("first")
      yield* sim.suppress(agent.id)
      yield* post(general.id, "never emitted", true)
      yield* sim.resume(agent.id)
      yield* burst(general.id, CHECK_EARLY_AT)
      yield* delivered("never emitted")
      const all = yield* host.delivered
      expect(all.map((i) => [i.message, i.fabric.late ?? false])).toEqual([["first", false], ["never emitted", true]])
    }), 60_000)
})
