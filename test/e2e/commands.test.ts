/**
 * Slash commands end to end (profile.md v1.1): the built plugin over real stdio against the
 * sim registers each agent's binding commands when its socket connects, and a message invoking
 * an agent's command in a group channel, without wakeup, wakes that agent (and only it) with
 * `fabric.command`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Schedule } from "effect"
import { Sim } from "../../src/sim/Sim.js"
import { binding, initializeParams, makeProfile, startPlugin } from "./harness.js"

const isInbound = (m: any) => m.method === "notifications/plexum/channel/inbound"
const inboundFor = (agent: string, text: string) => (m: any) =>
  isInbound(m) && m.params.fabric.agent_id === agent && m.params.message === text

const deploy = { name: "deploy", description: "Deploy a service", options: [{ name: "service", description: "which one", required: true }] }
const status = { name: "status", description: "Report status" }

describe("slash commands over stdio", () => {
  it.scopedLive("registers commands on connect; invoking one wakes its owner with fabric.command", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      const guild = yield* sim.createGuild({ name: "Acme" })
      const alice = yield* sim.createUser({ display_name: "Alice" })
      const scout = yield* sim.createAgent({ display_name: "Scout" })
      const echo = yield* sim.createAgent({ display_name: "Echo" })
      for (const user of [alice, scout, echo]) yield* sim.addMember(guild.node_id, user.id)
      const general = yield* sim.createChannel(guild.node_id, { name: "general", x_type: "group", member_ids: [alice.id, scout.id, echo.id] })
      const ops = yield* sim.createChannel(guild.node_id, { name: "ops", x_type: "group", member_ids: [alice.id, scout.id] })
      const root = yield* makeProfile({
        config: { center_api_base: sim.centerApiBase },
        agents: { scout: { apiKey: Redacted.value(scout.api_key) }, echo: { apiKey: Redacted.value(echo.api_key) } },
        bindings: {
          // scout's two bindings in the guild: their commands are registered as one set
          "scout-main": binding("scout", guild.node_id, general.id, { commands: [deploy] }),
          "scout-ops": binding("scout", guild.node_id, ops.id, { commands: [deploy, status] }),
          "echo-main": binding("echo", guild.node_id, general.id)
        }
      })
      const plugin = yield* startPlugin({ profileRoot: root })
      yield* plugin.call("initialize", initializeParams)
      yield* plugin.notify("notifications/initialized")

      // Registered after connect: scout's union, once; echo has no commands, so no PUT.
      yield* Effect.repeat(sim.socketStats(guild.node_id), {
        until: (stats) => stats.connected >= 2,
        schedule: Schedule.spaced("50 millis")
      }).pipe(Effect.timeout("10 seconds"))
      yield* Effect.repeat(sim.commandPuts(guild.node_id), {
        until: (puts) => puts.length >= 1,
        schedule: Schedule.spaced("50 millis")
      }).pipe(Effect.timeout("10 seconds"))
      expect(yield* sim.commandPuts(guild.node_id)).toEqual([{ user_id: scout.id, commands: [deploy, status] }])

      // A command of scout's in a group channel, without wakeup: scout wakes, with fabric.command.
      const invoked = yield* sim.postMessage(guild.node_id, general.id, { author_id: alice.id, content: "/deploy api --fast" })
      expect(invoked.wakeup).toBe(false)
      const delivered = (yield* plugin.waitFor(inboundFor("scout", "/deploy api --fast"))).params
      expect(delivered).toMatchObject({
        channel_name: "scout-main",
        session_id: `s_fab_${general.id}`,
        fabric: {
          agent_id: "scout",
          channel_id: general.id,
          channel_x_type: "group",
          message_id: invoked.id,
          wakeup: false,
          command: { name: "deploy", args: "api --fast", owner_id: scout.id }
        }
      })

      // echo, in the same channel, is not woken by scout's command: a later mention of echo is
      // the first thing it receives.
      yield* sim.postMessage(guild.node_id, general.id, { author_id: alice.id, content: "@Echo are you there?" })
      yield* plugin.waitFor(inboundFor("echo", "@Echo are you there?"))
      const echoes = (yield* plugin.inbound).filter((p: any) => p.fabric.agent_id === "echo").map((p: any) => p.message)
      expect(echoes).toEqual(["@Echo are you there?"])
    }))
})
