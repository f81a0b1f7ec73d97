/**
 * Scenarios 1 and 2, one agent on the hot path: throughput (a flat-out burst of DMs) and
 * one-way latency at a paced rate. The plugin and the raw client each get their own agent and
 * DM, and take turns, so they never compete for the CPU while measured. Each run counts only
 * its own messages (tagged in their content).
 */
import { Effect, Option, ScopedRef } from "effect"
import { type Bench, dmOf, progress } from "../Bench.js"
import { spawnRpc } from "../Child.js"
import { type Collected, makeCollector } from "../Collector.js"
import { rawClientPath } from "../paths.js"
import { makeProfile, type PluginHost, startInitialized } from "../PluginHost.js"
import { msBetween, percentile, type Spread, spreadAll } from "../Stats.js"

export const BURST = 20_000
export const LATENCY_SECONDS = 3
export const RATES = [1_000, 10_000] as const

export interface LatencyRun {
  readonly p50_ms: number
  readonly p99_ms: number
  readonly max_ms: number
  readonly received: number
}

export interface HotPathResult {
  readonly throughput: { readonly plugin: Record<"per_second" | "received", Spread>; readonly raw: Record<"per_second" | "received", Spread> }
  readonly latency: Record<string, { readonly plugin: Record<keyof LatencyRun, Spread>; readonly raw: Record<keyof LatencyRun, Spread> }>
}

const summarizeLatency = (collected: Collected): LatencyRun => {
  const sorted = [...collected.latencies_us].sort((a, b) => a - b)
  return {
    p50_ms: percentile(sorted, 50) / 1000,
    p99_ms: percentile(sorted, 99) / 1000,
    max_ms: (sorted.at(-1) ?? Number.NaN) / 1000,
    received: collected.count
  }
}

/** A receiver under test: arms a collector for `expected` messages, then awaits it. */
interface Receiver {
  readonly collect: <A, E>(
    expected: number,
    emit: (tag: string) => Effect.Effect<A, E>,
    timeoutMs: number
  ) => Effect.Effect<{ collected: Collected; emitted: A }, E | unknown>
}

export const hotPath = (bench: Bench) =>
  Effect.gen(function*() {
    const hot = bench.guildId("hot")
    const ada = bench.userId("ada")
    const pluginDm = yield* dmOf(bench, "tp_plugin")
    const rawDm = yield* dmOf(bench, "tp_raw")
    const pace = (channel: string, rate: number, count: number) => (tag: string) =>
      bench.sim.call("pace", { key: `latency-${channel}`, tag, guild: hot, channel, author: ada, rate, count }, "5 minutes")

    const root = yield* makeProfile({
      centerApiBase: bench.seeded.center_api_base,
      agents: { tp_plugin: bench.apiKey("tp_plugin") },
      bindings: { hot: { agent: "tp_plugin", guild: hot, channel: bench.channelId("hot", "general") } }
    })
    let tagCount = 0
    const nextTag = () => `r${++tagCount}`
    const raw = yield* spawnRpc("raw", [rawClientPath])
    yield* raw.call("connect", { center: bench.seeded.center_api_base, api_keys: [bench.apiKey("tp_raw")] })

    /** Plugin delivers into `collector` what `emit` sends, within `timeoutMs`. */
    const deliver = <A, E>(host: PluginHost, expected: number, emit: (tag: string) => Effect.Effect<A, E>, timeoutMs: number) =>
      Effect.gen(function*() {
        const tag = nextTag()
        const collector = yield* makeCollector(expected, tag)
        yield* host.collectInto(Option.some(collector))
        const emitted = yield* emit(tag)
        const collected = yield* collector.done(timeoutMs)
        yield* host.collectInto(Option.none())
        return { collected, emitted }
      })
    /** A plugin process that has delivered one message: connected and caught up. */
    const readyPlugin = Effect.gen(function*() {
      const { host } = yield* startInitialized(root, bench.pluginNodeArgs)
      const { collected } = yield* deliver(host, 1, (tag) => pace(pluginDm, 1_000, 1)(tag), 30_000)
      if (collected.count === 0) return yield* Effect.fail(`the plugin delivered no message within 30 s; stderr:\n${host.stderrTail()}`)
      return host
    })
    // A run the plugin could not keep up with leaves a backlog behind it that would slow the
    // next run down: the next run gets a fresh plugin process instead.
    const current = yield* ScopedRef.fromAcquire(readyPlugin)
    const plugin: Receiver = {
      collect: (expected, emit, timeoutMs) =>
        Effect.flatMap(ScopedRef.get(current), (host) => deliver(host, expected, emit, timeoutMs)).pipe(
          Effect.tap(({ collected }) => collected.count < expected ? ScopedRef.set(current, readyPlugin) : Effect.void)
        )
    }
    const rawReceiver: Receiver = {
      collect: (expected, emit, timeoutMs) =>
        Effect.gen(function*() {
          const tag = nextTag()
          const pending = yield* Effect.fork(raw.call<Collected>("collect", { expected, tag, timeout_ms: timeoutMs }, timeoutMs + 30_000))
          // The collector is armed once its command is read; a `connected` round trip after it proves that.
          yield* raw.call("connected")
          const emitted = yield* emit(tag)
          const collected = yield* pending.await.pipe(Effect.flatten)
          return { collected, emitted }
        })
    }
    const sides = [["raw", rawReceiver, rawDm], ["plugin", plugin, pluginDm]] as const

    const burst = (channel: string) => (tag: string) =>
      bench.sim.call<{ start_ns: string }>("burst", { tag, guild: hot, channel, author: ada, count: BURST })
    const throughput = { raw: [] as Array<{ per_second: number; received: number }>, plugin: [] as Array<{ per_second: number; received: number }> }
    for (let run = 1; run <= bench.runs; run++) {
      for (const [name, receiver, dm] of sides) {
        const { collected, emitted } = yield* receiver.collect(BURST, burst(dm), 30_000)
        const perSecond = collected.count / (msBetween(emitted.start_ns, collected.last_ns) / 1000)
        throughput[name].push({ per_second: perSecond, received: collected.count })
        yield* progress(`throughput run ${run}/${bench.runs} ${name}: ${collected.count}/${BURST} in ${Math.round(perSecond)}/s`)
      }
    }

    const latency: HotPathResult["latency"] = {}
    for (const rate of RATES) {
      const count = rate * LATENCY_SECONDS
      const runs = { raw: [] as Array<LatencyRun>, plugin: [] as Array<LatencyRun> }
      for (const [, receiver, dm] of sides) {
        // Warm-up, unmeasured: JIT and socket buffers reach their steady state first.
        yield* receiver.collect(Math.ceil(rate / 2), pace(dm, rate, Math.ceil(rate / 2)), 30_000)
      }
      for (let run = 1; run <= bench.runs; run++) {
        for (const [name, receiver, dm] of sides) {
          const { collected } = yield* receiver.collect(count, pace(dm, rate, count), 15_000 + LATENCY_SECONDS * 1000)
          const summary = summarizeLatency(collected)
          runs[name].push(summary)
          yield* progress(
            `latency ${rate}/s run ${run}/${bench.runs} ${name}: p50 ${summary.p50_ms.toFixed(3)} ms, ` +
              `p99 ${summary.p99_ms.toFixed(3)} ms, max ${summary.max_ms.toFixed(2)} ms (${summary.received}/${count})`
          )
        }
      }
      latency[String(rate)] = { plugin: spreadAll(runs.plugin), raw: spreadAll(runs.raw) }
    }
    const result: HotPathResult = {
      throughput: { plugin: spreadAll(throughput.plugin), raw: spreadAll(throughput.raw) },
      latency
    }
    return result
  }).pipe(Effect.scoped)
