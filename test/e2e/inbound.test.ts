/**
 * The built plugin over real stdio against the sim: real socket.io, real HTTP, real JWTs.
 * One plugin process serves the checks in order; each waits for events with a timeout.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Schedule } from "effect"
import { Sim } from "../../src/sim/Sim.js"
import { binding, initializeParams, makeProfile, sessionsLive, startPlugin, type PluginProcess } from "./harness.js"

const isInbound = (m: any) => m.method === "notifications/plexum/channel/inbound"
const inboundFor = (agent: string, text: string) => (m: any) =>
  isInbound(m) && m.params.fabric.agent_id === agent && m.params.message === text

/** Posts a marker that wakes `agent` and waits for it: everything before it has been decided. */
const barrier = (plugin: PluginProcess, post: (text: string) => Effect.Effect<unknown, unknown>, agent: string, text: string) =>
  post(text).pipe(Effect.zipRight(plugin.waitFor(inboundFor(agent, text))))

/** Any JWT in the plugin's output is a leaked token. */
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./

describe("inbound delivery over stdio", () => {
  it.scopedLive("delivers what should wake each agent, once, in order, through faults", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      const guild = yield* sim.createGuild({ name: "Acme" })
      const alice = yield* sim.createUser({ display_name: "Alice" })
      const scout = yield* sim.createAgent({ display_name: "Scout" })
      const echo = yield* sim.createAgent({ display_name: "Echo" })
      for (const user of [alice, scout, echo]) yield* sim.addMember(guild.node_id, user.id)
      const general = yield* sim.createChannel(guild.node_id, {
        name: "general",
        x_type: "group",
        member_ids: [alice.id, scout.id, echo.id]
      })
      const dm = yield* sim.openDm(guild.node_id, alice.id, scout.id)
      const keys = [Redacted.value(scout.api_key), Redacted.value(echo.api_key)]
      const root = yield* makeProfile({
        config: { center_api_base: sim.centerApiBase, channel_sync_interval_seconds: 2 },
        agents: { scout: { apiKey: keys[0]! }, echo: { apiKey: keys[1]! } },
        bindings: {
          "scout-main": binding("scout", guild.node_id, general.id),
          "echo-main": binding("echo", guild.node_id, general.id)
        }
      })
      const plugin = yield* startPlugin({ profileRoot: root })
      yield* plugin.call("initialize", initializeParams)
      yield* plugin.notify("notifications/initialized")
      const post = (channel: string, text: string, wakeup = false, author = alice.id) =>
        sim.postMessage(guild.node_id, channel, { author_id: author, content: text, wakeup })
      // Both agents connected: the directory is loaded before live events are consumed.
      yield* Effect.repeat(sim.socketStats(guild.node_id), {
        until: (stats) => stats.connected >= 2,
        schedule: Schedule.spaced("50 millis")
      }).pipe(Effect.timeout("10 seconds"))

      // A DM reaches the agent through its guild binding, with the whole fabric block.
      const sent = yield* post(dm.id, "hello scout")
      const delivered = (yield* plugin.waitFor(inboundFor("scout", "hello scout"))).params
      expect(delivered).toMatchObject({
        channel_name: "scout-main",
        session_id: `s_fab_${dm.id}`,
        fabric: {
          agent_id: "scout",
          guild_node_id: guild.node_id,
          channel_id: dm.id,
          channel_x_type: "dm",
          message_id: sent.id,
          author_id: alice.id,
          author_name: "Alice",
          wakeup: false,
          created_at: sent.created_at
        }
      })

      // Fiber inspection shows both socket sessions live, each with its checker (re-sync). Scout's
      // delivery proves only scout live: the nodes count a socket before its session has loaded
      // its channel list and caught up, so echo's may still be connecting.
      yield* sessionsLive(plugin, 2)
      const { counts, fibers } = yield* plugin.call("plexum/debug/fibers", {})
      const sessions = fibers.filter((f: any) => f.kind === "socket_session")
      expect(sessions.map((f: any) => [f.agent_id, f.guild_node_id, f.state])).toEqual([
        ["echo", guild.node_id, "connected"],
        ["scout", guild.node_id, "connected"]
      ])
      expect(counts.socket_session).toBe(2)
      expect(fibers.filter((f: any) => f.kind === "resync").map((f: any) => f.agent_id).sort()).toEqual(["echo", "scout"])
      expect(Number.isNaN(Date.parse(sessions[0].started_at))).toBe(false)
      // The summary a caller polling a thousand sessions asks for: counts by kind and state, no list.
      const summary = yield* plugin.call("plexum/debug/fibers", { summary: true })
      expect(summary.fibers).toBeUndefined()
      expect(summary.counts).toEqual(counts)
      expect(summary.states.socket_session).toEqual({ connected: 2 })

      // A group message wakes only with wakeup; both agents see it; never their own.
      yield* post(general.id, "just chatting")
      yield* post(general.id, "agents, wake up", true)
      yield* plugin.waitFor(inboundFor("scout", "agents, wake up"))
      yield* plugin.waitFor(inboundFor("echo", "agents, wake up"))
      const reply = yield* plugin.call("tools/call", {
        name: "send",
        arguments: { channel_name: "scout-main", message: "scout here, @Echo", wakeup: true }
      })
      expect(reply.isError).toBeUndefined()
      yield* plugin.waitFor(inboundFor("echo", "scout here, @Echo"))
      yield* barrier(plugin, (t) => post(general.id, t, true), "scout", "group barrier")
      const afterGroup = yield* plugin.inbound
      expect(afterGroup.filter((p) => p.message === "just chatting")).toHaveLength(0)
      expect(afterGroup.filter((p) => p.message === "scout here, @Echo").map((p) => p.fabric.agent_id)).toEqual(["echo"])

      // The same event twice is delivered once.
      const twice = yield* post(dm.id, "say it once")
      yield* sim.emitRaw(guild.node_id, scout.id, "message.created", twice)
      yield* barrier(plugin, (t) => post(dm.id, t), "scout", "dedup barrier")
      expect((yield* plugin.inbound).filter((p) => p.message === "say it once")).toHaveLength(1)

      // Bad events are dropped; the socket and the plugin go on.
      yield* sim.emitRaw(guild.node_id, scout.id, "message.created", "not an object")
      yield* sim.emitRaw(guild.node_id, scout.id, "message.created", { id: 42, channel_id: dm.id })
      yield* sim.emitRaw(guild.node_id, scout.id, "message.created", { ...twice, id: "m_huge", content: "x".repeat(1_100_000) })
      yield* sim.emitRaw(guild.node_id, scout.id, "guild.exploded", { boom: true })
      yield* barrier(plugin, (t) => post(dm.id, t), "scout", "after garbage")
      expect((yield* plugin.inbound).some((p) => p.fabric.message_id === "m_huge")).toBe(false)

      // 30 quick messages in one channel arrive as 30 notifications, in order.
      yield* sim.postBurst(guild.node_id, dm.id, { author_id: alice.id, content: "burst", count: 30 })
      const burst = yield* plugin.waitForCount((m) => isInbound(m) && m.params.message.startsWith("burst #"), 30)
      expect(burst.map((m) => m.params.message)).toEqual(Array.from({ length: 30 }, (_, i) => `burst #${i + 1}`))

      // A new DM announced by channel.joined.
      const bob = yield* sim.createUser({ display_name: "Bob" })
      yield* sim.addMember(guild.node_id, bob.id)
      const bobDm = yield* sim.openDm(guild.node_id, bob.id, scout.id)
      yield* post(bobDm.id, "hi from bob", false, bob.id)
      expect((yield* plugin.waitFor(inboundFor("scout", "hi from bob"))).params.session_id).toBe(`s_fab_${bobDm.id}`)

      // A DM whose channel.joined and first message were lost: found by the periodic re-sync.
      const carol = yield* sim.createUser({ display_name: "Carol" })
      yield* sim.addMember(guild.node_id, carol.id)
      yield* sim.suppress(scout.id)
      const carolDm = yield* sim.openDm(guild.node_id, carol.id, scout.id)
      yield* post(carolDm.id, "did you miss me?", false, carol.id)
      yield* sim.resume(scout.id)
      expect((yield* plugin.waitFor(inboundFor("scout", "did you miss me?"))).params.fabric.channel_id).toBe(carolDm.id)

      // A guild restart: every socket drops, the plugin reconnects and catches up.
      yield* sim.restartGuild(guild.node_id)
      yield* post(dm.id, "after the restart")
      yield* plugin.waitFor(inboundFor("scout", "after the restart"), "30 seconds")

      // Nothing was delivered twice.
      const ids = (yield* plugin.inbound).map((p) => `${p.fabric.agent_id}/${p.fabric.message_id}`)
      expect(new Set(ids).size).toBe(ids.length)

      yield* plugin.call("shutdown")
      expect((yield* plugin.exited()).code).toBe(0)
      const { stderr, stdout } = yield* plugin.output
      for (const key of keys) {
        expect(stdout).not.toContain(key)
        expect(stderr).not.toContain(key)
      }
      expect(stdout).not.toMatch(JWT)
      expect(stderr).not.toMatch(JWT)
    }), 120_000)

  it.scopedLive("keeps delivering while tokens expire every few seconds, with one login per expiry", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start({ tokenTtlSeconds: 2 })
      const guild = yield* sim.createGuild({ name: "Short" })
      const alice = yield* sim.createUser({ display_name: "Alice" })
      const scout = yield* sim.createAgent({ display_name: "Scout" })
      for (const user of [alice, scout]) yield* sim.addMember(guild.node_id, user.id)
      const dm = yield* sim.openDm(guild.node_id, alice.id, scout.id)
      const root = yield* makeProfile({
        config: { center_api_base: sim.centerApiBase, session_ttl_seconds: 480 },
        agents: { scout: { apiKey: Redacted.value(scout.api_key) } },
        bindings: { "scout-main": binding("scout", guild.node_id, dm.id) }
      })
      const plugin = yield* startPlugin({ profileRoot: root })
      yield* plugin.call("initialize", initializeParams)
      // Post across about four token lifetimes, one message per 250 ms of the sim's own pace.
      yield* sim.postBurst(guild.node_id, dm.id, { author_id: alice.id, content: "tick", count: 32, per_second: 4 })
      const ticks = yield* plugin.waitForCount((m) => isInbound(m) && m.params.message.startsWith("tick #"), 32, "40 seconds")
      expect(ticks.map((m) => m.params.message)).toEqual(Array.from({ length: 32 }, (_, i) => `tick #${i + 1}`))
      const logins = yield* sim.loginCount(scout.id)
      // ~8 s of 2 s tokens: a few re-logins, not one per reconnect attempt or per message.
      expect(logins).toBeGreaterThanOrEqual(2)
      expect(logins).toBeLessThanOrEqual(12)
      yield* plugin.closeStdin
      expect((yield* plugin.exited("2 seconds")).code).toBe(0)
    }), 90_000)
})
