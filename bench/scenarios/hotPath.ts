/**
 * Scenarios 1 and 2, one agent on the hot path: throughput (a flat-out burst of DMs) and
 * one-way latency at a paced rate. The plugin and the raw client each get their own agent and
 * DM, and take turns, so they never compete for the CPU while measured; each run starts once the
 * sim and every receiver are quiet (`quiet`: no tail of the previous run). Each run counts only
 * its own messages (tagged in their content). The "coalescing on" run is the plugin's burst
 * with `coalesce_ms` set: its own agent, DM and profile.
 */
import { Effect, Option, ScopedRef } from "effect"
import { type Bench, dmOf, progress } from "../Bench.js"
import { createServer } from "node:http"
import { cpuMicros, quiet, spawnRpc } from "../Child.js"
import { type Collected, type Collector, makeCollector } from "../Collector.js"
import { rawClientPath } from "../paths.js"
import { makeProfile, type PluginHost, startInitialized } from "../PluginHost.js"
import { msBetween, percentile, type Spread, spreadAll } from "../Stats.js"

/** A local OTLP/HTTP receiver that reads and accepts everything; its base URL, until the scope closes. */
const otlpSink = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly close: () => void }>((resume) => {
    const server = createServer((request, response) => {
      request.resume()
      request.on("end", () => response.writeHead(200, { "content-type": "application/json" }).end("{}"))
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, close: () => server.close() }))
    })
  }),
  (sink) => Effect.sync(() => sink.close())
).pipe(Effect.map((sink) => sink.url))

export const BURST = 20_000
/**
 * Messages of the unmeasured burst each side receives before the throughput runs. After 5,000
 * the plugin was not warm yet: its first measured burst cost 18.5–21.5 µs of CPU per message and
 * 48–60 ms of scavenges, against 13.5–16 µs and 21–23 ms after 20,000 (later bursts 13–18.5 µs
 * either way).
 */
export const WARM_UP = 20_000
/**
 * `coalesce_ms` of the "coalescing on" run. The flat-out burst arrives microseconds apart, so
 * any window merges it, and `coalesce_max_messages` (default 20) then cuts it into notifications
 * of 20: the run measures what merging costs or saves on the delivery path, not the window. 50
 * ms is short beside a burst of about a second (a burst only waits out the window at its end,
 * when it stops short of 20: the readiness message, a partial last notification), yet longer
 * than the event-loop stalls (GC) of a busy 2-core machine, which would split bursts if the
 * window were a few ms. Paced latency is not measured with coalescing: it adds its window to
 * every notification by design.
 */
export const COALESCE_MS = 50
export const LATENCY_SECONDS = 3
/** How long a measured run waits for the machine to be quiet (`quiet`) before it starts anyway. */
export const QUIET_LIMIT_MS = 20_000
export const RATES = [1_000, 10_000] as const

export interface LatencyRun {
  readonly p50_ms: number
  readonly p99_ms: number
  readonly max_ms: number
  readonly received: number
  /**
   * The receiving process's CPU over the run per message emitted: at these rates nearly every
   * message is a batch of its own, so this is what each costs when it arrives alone.
   */
  readonly cpu_us_per_message: number
}

type Throughput = Record<"per_second" | "received" | "cpu_us_per_message", Spread>
/** With coalescing: per message id (`received` counts ids), and the notifications that carried them. */
type Coalesced = Record<"per_second" | "received" | "cpu_us_per_message" | "notifications", Spread>

export interface HotPathResult {
  readonly throughput: { readonly plugin: Throughput; readonly raw: Throughput }
  /** The plugin's burst while the node's history reads lag its emits by 10 minutes. */
  readonly historyLag: Throughput
  /** The plugin's burst with an OTLP exporter on (a local receiver that accepts everything). */
  readonly otlp: Throughput
  /**
   * The plugin's burst with `coalesce_ms` COALESCE_MS (message ids per second, notifications per
   * burst), and the raw client's burst measured back to back with each of its runs.
   */
  readonly coalescing: { readonly plugin: Coalesced; readonly raw: Throughput }
  /** Per rate; `relay` is the raw client relaying each message over a pipe (rawClient.ts `--relay`). */
  readonly latency: Record<string, Record<"plugin" | "raw" | "relay", Record<keyof LatencyRun, Spread>>>
}

const summarizeLatency = (collected: Collected, cpuMicrosUsed: number, emitted: number): LatencyRun => {
  const sorted = [...collected.latencies_us].sort((a, b) => a - b)
  return {
    p50_ms: percentile(sorted, 50) / 1000,
    p99_ms: percentile(sorted, 99) / 1000,
    max_ms: (sorted.at(-1) ?? Number.NaN) / 1000,
    received: collected.count,
    cpu_us_per_message: cpuMicrosUsed / emitted
  }
}

/** A receiver under test: arms a collector for `expected` messages, then awaits it. */
interface Receiver {
  /** The process that receives (its CPU time is what a message costs). */
  readonly pid: Effect.Effect<number>
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
    const coalescingDm = yield* dmOf(bench, "co_plugin")
    const exportingDm = yield* dmOf(bench, "ot_plugin")
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

    /** A receiver whose lines the bench host reads delivers into `collector` what `emit` sends, within `timeoutMs`. */
    const deliver = <A, E>(
      host: Pick<PluginHost, "collectInto">,
      expected: number,
      emit: (tag: string) => Effect.Effect<A, E>,
      timeoutMs: number
    ) =>
      Effect.gen(function*() {
        const tag = nextTag()
        const collector = yield* makeCollector(expected, tag)
        yield* host.collectInto(Option.some(collector))
        const emitted = yield* emit(tag)
        const collected = yield* collector.done(timeoutMs)
        yield* host.collectInto(Option.none())
        return { collected, emitted }
      })
    /** A plugin process on `profileRoot` that has delivered one message in `dm`: connected and caught up. */
    const readyPlugin = (profileRoot: string, dm: string) =>
      Effect.gen(function*() {
        const { host } = yield* startInitialized(profileRoot, bench.pluginNodeArgs)
        const { collected } = yield* deliver(host, 1, (tag) => pace(dm, 1_000, 1)(tag), 30_000)
        if (collected.count === 0) return yield* Effect.fail(`the plugin delivered no message within 30 s; stderr:\n${host.stderrTail()}`)
        return host
      })
    /**
     * The plugin as a receiver. A run the plugin could not keep up with leaves a backlog behind
     * it that would slow the next run down: the next run gets a fresh plugin process instead.
     */
    const pluginReceiver = (profileRoot: string, dm: string) =>
      Effect.map(ScopedRef.fromAcquire(readyPlugin(profileRoot, dm)), (current): Receiver => ({
        pid: Effect.map(ScopedRef.get(current), (host) => host.pid),
        collect: (expected, emit, timeoutMs) =>
          Effect.flatMap(ScopedRef.get(current), (host) => deliver(host, expected, emit, timeoutMs)).pipe(
            Effect.tap(({ collected }) => collected.count < expected ? ScopedRef.set(current, readyPlugin(profileRoot, dm)) : Effect.void)
          )
      }))
    const plugin = yield* pluginReceiver(root, pluginDm)
    const rawReceiver: Receiver = {
      pid: Effect.succeed(raw.pid),
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

    // The raw client relaying each message to this process over its stdout, timed when it is
    // read here like the plugin's notifications: the raw client plus the pipe hop every plugin
    // adds. Latency runs only.
    let relayed: Option.Option<Collector> = Option.none()
    const relay = yield* spawnRpc("relay", [rawClientPath, "--relay"], (message, readNs) => {
      if (Option.isSome(relayed) && typeof message.relay === "string") relayed.value.onMessage(readNs, message.relay)
    })
    yield* relay.call("connect", { center: bench.seeded.center_api_base, api_keys: [bench.apiKey("rl_raw")] })
    const relayDm = yield* dmOf(bench, "rl_raw")
    const relaying = { collectInto: (next: Option.Option<Collector>) => Effect.sync(() => void (relayed = next)) }
    const relayReceiver: Receiver = {
      pid: Effect.succeed(relay.pid),
      collect: (expected, emit, timeoutMs) => deliver(relaying, expected, emit, timeoutMs)
    }
    const latencySides = [...sides, ["relay", relayReceiver, relayDm]] as const

    /** Before a measured run: the sim and every receiver quiet, however long the last one's tail. */
    const settle = (receiver: Receiver) =>
      Effect.gen(function*() {
        const pids = new Set([bench.sim.pid, raw.pid, relay.pid, yield* plugin.pid, yield* receiver.pid])
        if (!(yield* quiet([...pids], QUIET_LIMIT_MS))) {
          yield* progress(`the sim or a receiver was still busy after ${QUIET_LIMIT_MS / 1000} s; measuring anyway`)
        }
      })

    const burst = (channel: string) => (tag: string) =>
      bench.sim.call<{ start_ns: string }>("burst", { tag, guild: hot, channel, author: ada, count: BURST })
    type Run = { per_second: number; received: number; cpu_us_per_message: number; notifications: number }
    /**
     * One burst of BURST DMs into `receiver`: rate, and the receiving process's CPU per message
     * (messages counted by id: a coalesced notification counts every message it carries), and
     * the notifications (or raw events) that carried them.
     */
    const measureBurst = (receiver: Receiver, dm: string) =>
      Effect.gen(function*() {
        yield* settle(receiver)
        const pid = yield* receiver.pid
        const cpuBefore = cpuMicros(pid)
        const { collected, emitted } = yield* receiver.collect(BURST, burst(dm), 30_000)
        const cpu = cpuMicros(pid) - cpuBefore
        return {
          per_second: collected.count / (msBetween(emitted.start_ns, collected.last_ns) / 1000),
          received: collected.count,
          cpu_us_per_message: cpu / Math.max(1, collected.count),
          notifications: collected.notifications
        } satisfies Run
      })
    /**
     * Before a receiver's first measured burst, unmeasured, as for latency: JIT and socket buffers
     * reach their steady state first. Every process a burst is measured in gets it.
     */
    const warmUp = (receiver: Receiver, dm: string) =>
      receiver.collect(WARM_UP, (tag) => bench.sim.call("burst", { tag, guild: hot, channel: dm, author: ada, count: WARM_UP }), 30_000)
    /** The figures of the rows that predate coalescing (results JSON unchanged). */
    const plain = ({ cpu_us_per_message, per_second, received }: Run) => ({ per_second, received, cpu_us_per_message })
    const throughput = { raw: [] as Array<Run>, plugin: [] as Array<Run> }
    for (const [, receiver, dm] of sides) yield* warmUp(receiver, dm)
    for (let run = 1; run <= bench.runs; run++) {
      for (const [name, receiver, dm] of sides) {
        const result = yield* measureBurst(receiver, dm)
        throughput[name].push(result)
        yield* progress(
          `throughput run ${run}/${bench.runs} ${name}: ${result.received}/${BURST} in ${Math.round(result.per_second)}/s, ` +
            `${result.cpu_us_per_message.toFixed(1)} µs CPU per message`
        )
      }
    }

    // The node's history lags its socket by 10 minutes: nothing on the live path may wait for it.
    const historyLag: Array<Run> = []
    yield* bench.sim.call("historyLag", { guild: hot, lag_ms: 600_000 })
    for (let run = 1; run <= bench.runs; run++) {
      const result = yield* measureBurst(plugin, pluginDm)
      historyLag.push(result)
      yield* progress(`history lagging run ${run}/${bench.runs} plugin: ${result.received}/${BURST} in ${Math.round(result.per_second)}/s`)
    }
    yield* bench.sim.call("historyLag", { guild: hot, lag_ms: 0 })

    // One plugin process exporting traces, metrics and logs over OTLP to a receiver that accepts
    // all: an agent (ot_plugin) and profile of its own, closed after its runs, so no other plugin
    // process receives its DMs nor competes for the CPU with a later run.
    const otlp: Array<Run> = []
    yield* Effect.scoped(Effect.gen(function*() {
      const sink = yield* otlpSink
      const exportingRoot = yield* makeProfile({
        centerApiBase: bench.seeded.center_api_base,
        agents: { ot_plugin: bench.apiKey("ot_plugin") },
        bindings: { hot: { agent: "ot_plugin", guild: hot, channel: bench.channelId("hot", "general") } }
      })
      const { host } = yield* startInitialized(exportingRoot, bench.pluginNodeArgs, { OTEL_EXPORTER_OTLP_ENDPOINT: sink })
      const exporting: Receiver = { pid: Effect.succeed(host.pid), collect: (expected, emit, timeoutMs) => deliver(host, expected, emit, timeoutMs) }
      yield* warmUp(exporting, exportingDm)
      for (let run = 1; run <= bench.runs; run++) {
        const result = yield* measureBurst(exporting, exportingDm)
        otlp.push(result)
        yield* progress(`OTLP export on, run ${run}/${bench.runs} plugin: ${result.received}/${BURST} in ${Math.round(result.per_second)}/s`)
      }
    }))

    // Coalescing on: a plugin process of its own agent (co_plugin) and profile with coalesce_ms
    // set, closed after its runs. The same 20,000-DM burst; counted per message id. Each run has
    // a raw run of its own just before it, as in row 1: both sides meet the sim and the machine
    // as they are then, not as they were minutes earlier.
    const coalescing = { raw: [] as Array<Run>, plugin: [] as Array<Run> }
    yield* Effect.scoped(Effect.gen(function*() {
      const coalescingRoot = yield* makeProfile({
        centerApiBase: bench.seeded.center_api_base,
        agents: { co_plugin: bench.apiKey("co_plugin") },
        bindings: { hot: { agent: "co_plugin", guild: hot, channel: bench.channelId("hot", "general") } },
        config: { coalesce_ms: COALESCE_MS }
      })
      const merging = yield* pluginReceiver(coalescingRoot, coalescingDm)
      yield* warmUp(merging, coalescingDm)
      for (let run = 1; run <= bench.runs; run++) {
        const beside = yield* measureBurst(rawReceiver, rawDm)
        coalescing.raw.push(beside)
        const result = yield* measureBurst(merging, coalescingDm)
        coalescing.plugin.push(result)
        yield* progress(
          `coalescing on (coalesce_ms ${COALESCE_MS}), run ${run}/${bench.runs} raw: ${Math.round(beside.per_second)}/s; ` +
            `plugin: ${result.received}/${BURST} message ids in ${result.notifications} notifications, ` +
            `${Math.round(result.per_second)} ids/s, ${result.cpu_us_per_message.toFixed(1)} µs CPU per id`
        )
      }
    }))

    const latency: HotPathResult["latency"] = {}
    for (const rate of RATES) {
      const count = rate * LATENCY_SECONDS
      const runs = { raw: [] as Array<LatencyRun>, plugin: [] as Array<LatencyRun>, relay: [] as Array<LatencyRun> }
      for (const [, receiver, dm] of latencySides) {
        // Warm-up, unmeasured: JIT and socket buffers reach their steady state first.
        yield* receiver.collect(Math.ceil(rate / 2), pace(dm, rate, Math.ceil(rate / 2)), 30_000)
      }
      for (let run = 1; run <= bench.runs; run++) {
        for (const [name, receiver, dm] of latencySides) {
          yield* settle(receiver)
          const pid = yield* receiver.pid
          const cpuBefore = cpuMicros(pid)
          const { collected } = yield* receiver.collect(count, pace(dm, rate, count), 15_000 + LATENCY_SECONDS * 1000)
          const summary = summarizeLatency(collected, cpuMicros(pid) - cpuBefore, count)
          runs[name].push(summary)
          yield* progress(
            `latency ${rate}/s run ${run}/${bench.runs} ${name}: p50 ${summary.p50_ms.toFixed(3)} ms, ` +
              `p99 ${summary.p99_ms.toFixed(3)} ms, max ${summary.max_ms.toFixed(2)} ms (${summary.received}/${count}), ` +
              `${summary.cpu_us_per_message.toFixed(0)} µs CPU per message`
          )
        }
      }
      latency[String(rate)] = { plugin: spreadAll(runs.plugin), raw: spreadAll(runs.raw), relay: spreadAll(runs.relay) }
    }
    const result: HotPathResult = {
      throughput: { plugin: spreadAll(throughput.plugin.map(plain)), raw: spreadAll(throughput.raw.map(plain)) },
      historyLag: spreadAll(historyLag.map(plain)),
      otlp: spreadAll(otlp.map(plain)),
      coalescing: { plugin: spreadAll(coalescing.plugin), raw: spreadAll(coalescing.raw.map(plain)) },
      latency
    }
    return result
  }).pipe(Effect.scoped)
