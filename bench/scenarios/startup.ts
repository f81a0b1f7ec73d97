/**
 * Scenario 5: start-up. A DM arrives every 2 ms from before the spawn on; the figures are spawn
 * → `initialize` answered and spawn → first message read. The raw client has no `initialize`;
 * its first message comes after its login and connect.
 */
import { Effect } from "effect"
import { type Bench, dmOf, progress } from "../Bench.js"
import { spawnRpc } from "../Child.js"
import { type Collected } from "../Collector.js"
import { rawClientPath } from "../paths.js"
import { makeProfile, startPlugin, initializeParams } from "../PluginHost.js"
import { msBetween, type Spread, spreadAll } from "../Stats.js"
import { nowNs } from "../Lines.js"

export const STARTUP_RUNS = 5
const RATE = 500

export interface StartupResult {
  readonly plugin: Record<"initialize_ms" | "first_message_ms", Spread>
  readonly raw: Record<"first_message_ms", Spread>
}

export const startup = (bench: Bench) =>
  Effect.gen(function*() {
    const hot = bench.guildId("hot")
    const pluginDm = yield* dmOf(bench, "st_plugin")
    const rawDm = yield* dmOf(bench, "st_raw")
    /** Paces DMs into `channel` for as long as `measure` runs. */
    const whilePacing = <A, E, R>(channel: string, measure: Effect.Effect<A, E, R>) =>
      Effect.gen(function*() {
        const key = `startup-${channel}`
        const pacing = yield* Effect.fork(
          bench.sim.call("pace", { key, tag: "startup", guild: hot, channel, author: bench.userId("ada"), rate: RATE, count: RATE * 60 }, "2 minutes")
        )
        return yield* measure.pipe(
          Effect.ensuring(bench.sim.call("stop", { key }).pipe(Effect.zipRight(pacing.await), Effect.orDie))
        )
      })

    const pluginRun = Effect.gen(function*() {
      const root = yield* makeProfile({
        centerApiBase: bench.seeded.center_api_base,
        agents: { st_plugin: bench.apiKey("st_plugin") },
        bindings: { hot: { agent: "st_plugin", guild: hot, channel: bench.channelId("hot", "general") } }
      })
      return yield* whilePacing(pluginDm, Effect.gen(function*() {
        const host = yield* startPlugin(root, bench.pluginNodeArgs)
        yield* host.request("initialize", initializeParams)
        const initialized = nowNs()
        yield* host.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }))
        const first = yield* host.firstInbound("30 seconds")
        return { initialize_ms: msBetween(host.spawnedNs, initialized), first_message_ms: msBetween(host.spawnedNs, first) }
      }))
    }).pipe(Effect.scoped)

    const rawRun = whilePacing(rawDm, Effect.gen(function*() {
      const raw = yield* spawnRpc("raw", [rawClientPath])
      const first = yield* Effect.fork(raw.call<Collected>("collect", { expected: 1, tag: "startup", timeout_ms: 30_000 }, "40 seconds"))
      yield* raw.call("connect", { center: bench.seeded.center_api_base, api_keys: [bench.apiKey("st_raw")] })
      const collected = yield* first.await.pipe(Effect.flatten)
      return { first_message_ms: msBetween(raw.spawnedNs, collected.first_ns) }
    })).pipe(Effect.scoped)

    const runs = { plugin: [] as Array<{ initialize_ms: number; first_message_ms: number }>, raw: [] as Array<{ first_message_ms: number }> }
    for (let run = 1; run <= Math.max(bench.runs, STARTUP_RUNS); run++) {
      const plugin = yield* pluginRun
      const raw = yield* rawRun
      runs.plugin.push(plugin)
      runs.raw.push(raw)
      yield* progress(
        `startup run ${run}: plugin initialize ${plugin.initialize_ms.toFixed(0)} ms, first message ` +
          `${plugin.first_message_ms.toFixed(0)} ms; raw first message ${raw.first_message_ms.toFixed(0)} ms`
      )
    }
    const result: StartupResult = { plugin: spreadAll(runs.plugin), raw: spreadAll(runs.raw) }
    return result
  })

