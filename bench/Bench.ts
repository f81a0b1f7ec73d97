/**
 * What every scenario shares: the sim host (its own process), the seeded population, the run
 * count and a progress line writer (stderr; stdout carries only the final table).
 */
import { Effect } from "effect"
import type { LineRpc } from "./Child.js"
import { spawnRpc } from "./Child.js"

export const AGENTS = 100
export const GUILDS = 10

export interface Seeded {
  readonly center_api_base: string
  readonly users: Record<string, { readonly id: string; readonly api_key?: string }>
  readonly guilds: Record<string, { readonly node_id: string; readonly channels: Record<string, string> }>
}

export interface Bench {
  readonly sim: LineRpc
  readonly seeded: Seeded
  readonly runs: number
  /** Node options for every plugin process (`--cpu-prof`…), from `--plugin-node-args`. */
  readonly pluginNodeArgs: ReadonlyArray<string>
  readonly userId: (key: string) => string
  readonly apiKey: (key: string) => string
  readonly guildId: (key: string) => string
  readonly channelId: (guild: string, channel: string) => string
  /** The connection scenarios' agents and guilds (`a0`…, `g0`…). */
  readonly manyAgents: ReadonlyArray<string>
  readonly manyGuilds: ReadonlyArray<string>
}

export const progress = (line: string) => Effect.sync(() => void process.stderr.write(`[bench] ${line}\n`))

const range = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

/**
 * One human (`ada`) writing DMs; hot-path agents in guild `hot` (`rl_raw`: the raw client
 * relaying each message to the bench host; `co_plugin` and `ot_plugin`: the plugin runs with
 * coalescing on and with OTLP export on, each an agent of its own so no other plugin process
 * receives its DMs); and the connection fleet: `AGENTS` agents, each a member of all `GUILDS`
 * guilds.
 */
export const seed = () => {
  const fleet = range(AGENTS, "a")
  const hot = ["tp_plugin", "tp_raw", "rl_raw", "st_plugin", "st_raw", "co_plugin", "ot_plugin"]
  return {
    users: [
      { key: "ada", display_name: "Ada", kind: "user" },
      ...[...hot, ...fleet].map((key) => ({ key, display_name: `Agent ${key}`, kind: "agent" }))
    ],
    guilds: [
      {
        key: "hot",
        name: "Hot path",
        members: ["ada", ...hot],
        channels: [{ key: "general", name: "general", x_type: "group", members: ["ada", ...hot] }]
      },
      ...range(GUILDS, "g").map((key) => ({
        key,
        name: `Guild ${key}`,
        members: fleet,
        channels: [{ key: "general", name: "general", x_type: "public", members: fleet }]
      }))
    ]
  }
}

export const startSim = (seedPath: string, simHostPath: string, runs: number, pluginNodeArgs: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sim = yield* spawnRpc("sim", [simHostPath, seedPath])
    const seeded = (yield* sim.first("60 seconds")).ready as Seeded
    const bench: Bench = {
      sim,
      seeded,
      runs,
      pluginNodeArgs,
      userId: (key) => seeded.users[key]!.id,
      apiKey: (key) => seeded.users[key]!.api_key!,
      guildId: (key) => seeded.guilds[key]!.node_id,
      channelId: (guild, channel) => seeded.guilds[guild]!.channels[channel]!,
      manyAgents: range(AGENTS, "a"),
      manyGuilds: range(GUILDS, "g")
    }
    return bench
  })

/** Opens (idempotently) the DM from `ada` to `agent` in guild `hot`; answers its channel id. */
export const dmOf = (bench: Bench, agent: string) =>
  Effect.map(
    bench.sim.call<{ id: string }>("openDm", { guild: bench.guildId("hot"), user: bench.userId("ada"), peer: bench.userId(agent) }),
    (channel) => channel.id
  )
