/**
 * Command sync against the sim: real HTTP, real tokens, the node's own record of every
 * `PUT /api/commands`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel, Redacted } from "effect"
import { CommandSync, commandsOf } from "../../src/commands/CommandSync.js"
import { ActiveProfile, type Binding, defaultConfig, type LoadedProfile } from "../../src/profile/ProfileSchema.js"
import { Sim } from "../../src/sim/Sim.js"
import { fabricLayer } from "../inbound/catchupSimLayers.js"

const deploy = { name: "deploy", description: "Deploy a service", options: [{ name: "service", description: "which", required: true }] }
const status = { name: "status", description: "Show the status" }
const ask = { name: "ask", description: "Ask the agent" }

const binding = (name: string, agentId: string, guildNodeId: string, commands?: Binding["commands"]): Binding => ({
  name,
  agentId,
  guildNodeId,
  channelId: `c_${name}`,
  file: `channels/${name}.json`,
  ...(commands ? { commands } : {})
})

describe("commandsOf", () => {
  it("unites the commands of the agent's bindings in that guild, once per name, first binding first", () => {
    const bindings = [
      binding("a", "scout", "g_1", [deploy, status]),
      binding("b", "scout", "g_1", [{ ...status, description: "shadowed" }, ask]),
      binding("c", "scout", "g_2", [{ name: "elsewhere", description: "other guild" }]),
      binding("d", "other", "g_1", [{ name: "theirs", description: "other agent" }]),
      binding("e", "scout", "g_1")
    ]
    expect(commandsOf(bindings, { agentId: "scout", guildNodeId: "g_1" })).toEqual([deploy, status, ask])
    expect(commandsOf(bindings, { agentId: "scout", guildNodeId: "g_3" })).toEqual([])
    expect(commandsOf([binding("e", "scout", "g_1")], { agentId: "scout", guildNodeId: "g_1" })).toEqual([])
  })
})

/** The sim, an agent in a guild, and CommandSync over the given bindings; logs recorded. */
const setup = (bindingsOf: (guildNodeId: string) => ReadonlyArray<Binding>) =>
  Effect.gen(function*() {
    const sim = yield* Sim.start()
    const guild = yield* sim.createGuild({ name: "Acme" })
    const agent = yield* sim.createAgent({ display_name: "Scout" })
    yield* sim.addMember(guild.node_id, agent.id)
    const profile: LoadedProfile = {
      root: "profile",
      config: { ...defaultConfig, center_api_base: sim.centerApiBase, max_retries: 0 },
      identities: new Map([["scout", { agentId: "scout", apiKey: agent.api_key, enabled: true }]]),
      bindings: bindingsOf(guild.node_id)
    }
    const logs: Array<{ level: string; message: string }> = []
    const logger = Logger.make(({ logLevel, message }) => {
      logs.push({ level: logLevel.label, message: Array.isArray(message) ? message.join(" ") : String(message) })
    })
    const context = yield* Layer.build(
      CommandSync.Default.pipe(
        Layer.provide(fabricLayer()),
        Layer.provide(Layer.succeed(ActiveProfile, profile)),
        Layer.provide(Logger.replace(Logger.defaultLogger, logger))
      )
    )
    const sync = (yield* Effect.provide(CommandSync, context))
    const ref = { agentId: "scout", guildNodeId: guild.node_id }
    return { sim, guild, agent, sync, ref, logs }
  }).pipe(Logger.withMinimumLogLevel(LogLevel.Debug))

describe("CommandSync", () => {
  it.scopedLive("registers the union after every connect", () =>
    Effect.gen(function*() {
      const { agent, guild, logs, ref, sim, sync } = yield* setup((g) => [binding("a", "scout", g, [deploy]), binding("b", "scout", g, [status])])
      expect(sync.declares(ref)).toBe(true)
      yield* sync.connected(ref)
      expect(yield* sim.commandPuts(guild.node_id)).toEqual([{ user_id: agent.id, commands: [deploy, status] }])
      yield* sync.connected(ref)
      expect(yield* sim.commandPuts(guild.node_id)).toHaveLength(2)
      expect(logs.filter((l) => l.level === "INFO").map((l) => l.message)).toContain(
        `Registered 2 slash command(s) of agent scout in guild ${guild.node_id}: /deploy, /status.`
      )
    }))

  it.scopedLive("registers nothing when the agent's bindings in the guild have no commands", () =>
    Effect.gen(function*() {
      const { guild, ref, sim, sync } = yield* setup((g) => [binding("a", "scout", g), binding("b", "scout", "g_elsewhere", [deploy])])
      // The Supervisor forks no registration for such a connect.
      expect(sync.declares(ref)).toBe(false)
      yield* sync.connected(ref)
      expect(yield* sim.commandPuts(guild.node_id)).toEqual([])
    }))

  it.scopedLive("a node without the route (404 not_found) is told once at info and not asked again", () =>
    Effect.gen(function*() {
      const { guild, logs, ref, sim, sync } = yield* setup((g) => [binding("a", "scout", g, [deploy])])
      yield* sim.failNext({ scope: guild.node_id, route: "putCommands", status: 404, code: "not_found", count: 1 })
      yield* sync.connected(ref)
      yield* sync.connected(ref)
      // had the second connect asked, the node (whose planned failure is used up) would have stored it
      expect(yield* sim.commandPuts(guild.node_id)).toEqual([])
      const notSupported = logs.filter((l) => l.message.includes("does not support slash commands"))
      expect(notSupported.map((l) => l.level)).toEqual(["INFO"])
      expect(logs.some((l) => l.level === "WARN" || l.level === "ERROR")).toBe(false)
    }))

  it.scopedLive("any other failure is a warning, never the caller's failure; the next connect registers", () =>
    Effect.gen(function*() {
      const { agent, guild, logs, ref, sim, sync } = yield* setup((g) => [binding("a", "scout", g, [deploy])])
      yield* sim.failNext({ scope: guild.node_id, route: "putCommands", status: 403, code: "forbidden", count: 1 })
      yield* sync.connected(ref)
      const warnings = logs.filter((l) => l.level === "WARN").map((l) => l.message)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(`Could not register the slash commands of agent scout in guild ${guild.node_id} (/deploy)`)
      expect(warnings[0]).not.toContain(Redacted.value(agent.api_key))
      yield* sync.connected(ref)
      expect(yield* sim.commandPuts(guild.node_id)).toEqual([{ user_id: agent.id, commands: [deploy] }])
    }))
})
