/**
 * Scenarios 3 and 4, the fleet: `AGENTS` agents × `GUILDS` guilds = 1,000 sessions in one
 * process. Time from spawn until the guild nodes count every socket connected, and until every
 * session is live (for the plugin: channel list loaded and caught up, as `plexum/debug/fibers`
 * says; for a raw socket, connected is live); memory once live. Then, from that steady state, a
 * reconnect storm: every node drops every socket at once while the tokens stay valid; timed
 * until every socket is connected again, and until every session is live again. Raw clients
 * reconnect at once on a server disconnect, the fastest any client can: a lower bound, not a
 * policy to copy.
 */
import { Effect, Schedule } from "effect"
import { type Bench, progress } from "../Bench.js"
import { type Child, cpuMicros, type Memory, spawnRpc } from "../Child.js"
import { rawClientPath } from "../paths.js"
import { makeProfile, type PluginHost, type ProfileSpec, startInitialized } from "../PluginHost.js"
import { msBetween, peakPerSecond, type Spread, spreadAll } from "../Stats.js"

type Sample = readonly [string, number, number]
interface Watched {
  readonly reached_ns: string | null
  readonly samples: ReadonlyArray<Sample>
}

export interface FleetRun {
  readonly connect_ms: number
  readonly live_ms: number
  /** CPU (user + system) the process used from its spawn until all its sessions were live. */
  readonly live_cpu_ms: number
  readonly logins: number
  readonly rss_mb: number
  readonly heap_used_mb: number
  readonly storm_back_ms: number
  readonly storm_live_ms: number
  /** CPU the process used from the drop until all its sessions were live again. */
  readonly storm_cpu_ms: number
  readonly storm_peak_attempts_per_s: number
  readonly storm_attempts: number
  readonly storm_logins: number
}

export interface FleetResult {
  readonly sessions: number
  readonly plugin: Record<keyof FleetRun, Spread>
  readonly raw: Record<keyof FleetRun, Spread>
}

const SETTLE = "1 second"

/** A started fleet client, and a wait that ends once all its sessions are live. */
interface Started {
  readonly child: Child
  readonly allLive: Effect.Effect<void, unknown>
}

/**
 * Polls the plugin's fibers until `sessions` socket sessions are connected (live). The summary
 * only: the whole list of a thousand sessions and their checkers is ~300 kB of JSON, and
 * building, redacting and writing it ten times a second loaded the plugin it was measuring.
 */
const pluginLive = (host: PluginHost, sessions: number) =>
  host.request("plexum/debug/fibers", { summary: true }).pipe(
    Effect.map((result) => (result as { states: { socket_session: Record<string, number> } }).states.socket_session.connected ?? 0),
    Effect.repeat({ until: (live) => live >= sessions, schedule: Schedule.spaced("100 millis") }),
    Effect.asVoid,
    Effect.timeoutFail({ duration: "3 minutes", onTimeout: () => `not all ${sessions} sessions went live` })
  )

export const fleet = (bench: Bench) =>
  Effect.gen(function*() {
    const guilds = bench.manyGuilds.map(bench.guildId)
    const users = bench.manyAgents.map(bench.userId)
    const sessions = guilds.length * users.length
    const watch = (target: number, extra: Record<string, unknown> = {}) =>
      bench.sim.call<Watched>("watch", { guilds, target, interval_ms: 10, timeout_ms: 120_000, ...extra }, "3 minutes")
    const logins = bench.sim.call<number>("logins", { users })
    const allDown = watch(0, { below: true })

    /** Connect (timed from spawn), memory, storm; the process stays up for the storm. */
    const measure = (name: string, start: Effect.Effect<Started, unknown, import("effect").Scope.Scope>) =>
      Effect.gen(function*() {
        yield* allDown
        const loginsBefore = yield* logins
        const up = yield* Effect.fork(watch(sessions))
        const { allLive, child } = yield* start
        const connected = yield* up.await.pipe(Effect.flatten)
        if (connected.reached_ns === null) return yield* Effect.fail(`${name}: not all ${sessions} sockets connected within the watch`)
        const connectMs = msBetween(child.spawnedNs, connected.reached_ns)
        yield* allLive
        const liveMs = msBetween(child.spawnedNs, process.hrtime.bigint())
        const liveCpuMs = cpuMicros(child.pid) / 1000
        const loginsAtConnect = (yield* logins) - loginsBefore
        yield* Effect.sleep(SETTLE)
        const memory: Memory = yield* child.memory
        yield* progress(
          `fleet ${name}: ${sessions} connected ${connectMs.toFixed(0)} ms after spawn, all live after ${liveMs.toFixed(0)} ms, ` +
            `CPU ${liveCpuMs.toFixed(0)} ms, ${loginsAtConnect} logins, RSS ${memory.rss_mb.toFixed(1)} MB, heap ${memory.heap_used_mb.toFixed(1)} MB`
        )

        const stormLogins = yield* logins
        const cpuBeforeDrop = cpuMicros(child.pid)
        const back = yield* Effect.fork(watch(sessions, { after_drop: true }))
        const dropped = yield* bench.sim.call<{ dropped: number; at_ns: string }>("drop", { guilds })
        const storm = yield* back.await.pipe(Effect.flatten)
        if (storm.reached_ns === null) return yield* Effect.fail(`${name}: not all sockets came back after the drop`)
        yield* allLive
        const stormLiveMs = msBetween(dropped.at_ns, process.hrtime.bigint())
        const stormCpuMs = (cpuMicros(child.pid) - cpuBeforeDrop) / 1000
        const during = storm.samples.filter(([t]) => BigInt(t) >= BigInt(dropped.at_ns))
        const run: FleetRun = {
          connect_ms: connectMs,
          live_ms: liveMs,
          live_cpu_ms: liveCpuMs,
          logins: loginsAtConnect,
          rss_mb: memory.rss_mb,
          heap_used_mb: memory.heap_used_mb,
          storm_back_ms: msBetween(dropped.at_ns, storm.reached_ns),
          storm_live_ms: stormLiveMs,
          storm_cpu_ms: stormCpuMs,
          storm_peak_attempts_per_s: peakPerSecond(during),
          storm_attempts: (during.at(-1)?.[1] ?? 0) - (during[0]?.[1] ?? 0),
          storm_logins: (yield* logins) - stormLogins
        }
        yield* progress(
          `storm ${name}: ${dropped.dropped} dropped, all back in ${run.storm_back_ms.toFixed(0)} ms, all live in ${run.storm_live_ms.toFixed(0)} ms (CPU ${stormCpuMs.toFixed(0)} ms), ` +
            `${run.storm_attempts} attempts (peak ${run.storm_peak_attempts_per_s}/s), ${run.storm_logins} logins`
        )
        return run
      }).pipe(Effect.scoped)

    const rawStart = Effect.gen(function*() {
      const raw = yield* spawnRpc("raw", [rawClientPath])
      yield* raw.call(
        "connect",
        { center: bench.seeded.center_api_base, api_keys: bench.manyAgents.map(bench.apiKey), reconnect_at_once: true },
        "2 minutes"
      )
      // A raw socket has nothing to catch up: connected is live.
      return { child: raw, allLive: Effect.void } satisfies Started
    })

    const profile: ProfileSpec = {
      centerApiBase: bench.seeded.center_api_base,
      agents: Object.fromEntries(bench.manyAgents.map((agent) => [agent, bench.apiKey(agent)])),
      bindings: Object.fromEntries(
        bench.manyAgents.flatMap((agent) =>
          bench.manyGuilds.map((guild) => [
            `${agent}-${guild}`,
            { agent, guild: bench.guildId(guild), channel: bench.channelId(guild, "general") }
          ])
        )
      )
    }
    const pluginStart = Effect.gen(function*() {
      const root = yield* makeProfile(profile)
      const { host } = yield* startInitialized(root, bench.pluginNodeArgs)
      return { child: host, allLive: pluginLive(host, sessions) } satisfies Started
    })

    const runs = { raw: [] as Array<FleetRun>, plugin: [] as Array<FleetRun> }
    for (let run = 1; run <= bench.runs; run++) {
      yield* progress(`fleet run ${run}/${bench.runs}`)
      runs.raw.push(yield* measure("raw", rawStart))
      runs.plugin.push(yield* measure("plugin", pluginStart))
    }
    yield* allDown
    const result: FleetResult = { sessions, plugin: spreadAll(runs.plugin), raw: spreadAll(runs.raw) }
    return result
  })
