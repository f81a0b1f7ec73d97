/**
 * The bench's Fabric: the project's sim (src/sim) in its own process, plus a lean emitter on
 * the same guild nodes that stamps each message with the machine's monotonic clock, so a
 * receiver in another process measures one-way latency against the same clock.
 *
 *   node dist-bench/bench/simHost.js <seed.json>
 *
 * First stdout line: `{"ready": SeedResult}`. Then one command per stdin line (Lines.ts).
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Clock, Duration, Effect, FiberMap, Logger, Schema } from "effect"
import { readFileSync } from "node:fs"
import { Sim } from "../src/sim/Sim.js"
import { SeedResult, SimSeed } from "../src/sim/SimSeed.js"
import { stamped, tagged } from "./Collector.js"
import { type Command, nowNs, serveCommands, writeLine } from "./Lines.js"

const str = (command: Command, key: string) => String(command[key])
const num = (command: Command, key: string) => Number(command[key])
const list = (command: Command, key: string) => command[key] as ReadonlyArray<string>

const program = Effect.gen(function*() {
  const seedPath = process.argv[2]
  if (seedPath === undefined) return yield* Effect.dieMessage("usage: simHost.js <seed.json>")
  const sim = yield* Sim.start({})
  const seed = yield* Schema.decodeUnknown(Schema.parseJson(SimSeed))(readFileSync(seedPath, "utf8"))
  const result = yield* Schema.encode(SeedResult)(yield* sim.seed(seed))
  yield* writeLine({ ready: result })
  const paced = yield* FiberMap.make<string>()

  /**
   * `count` stamped messages at `rate` per second. Every millisecond it posts what is due, so
   * timer jitter never lowers the rate; each message is stamped just before it is emitted.
   */
  const pace = (command: Command) =>
    Effect.gen(function*() {
      const rate = num(command, "rate")
      const count = num(command, "count")
      const start = nowNs()
      let emitted = 0
      while (emitted < count) {
        const due = Math.min(count, Math.floor((Number(nowNs() - start) / 1e9) * rate) + 1)
        for (; emitted < due; emitted++) {
          yield* sim.postMessage(str(command, "guild"), str(command, "channel"), {
            author_id: str(command, "author"),
            content: stamped(str(command, "tag"), nowNs())
          })
        }
        yield* Effect.sleep(Duration.millis(1))
      }
      return { start_ns: String(start), end_ns: String(nowNs()), emitted }
    })

  const statsOf = (guilds: ReadonlyArray<string>) =>
    Effect.reduce(guilds, { connect_attempts: 0, connections: 0, connected: 0 }, (sum, guild) =>
      Effect.map(sim.socketStats(guild), (s) => ({
        connect_attempts: sum.connect_attempts + s.connect_attempts,
        connections: sum.connections + s.connections,
        connected: sum.connected + s.connected
      })))

  /**
   * Samples the guilds' socket stats every `interval_ms` until `target` sockets are connected
   * (`below`: at most `target`; `after_drop`: again, after fewer were), or `timeout_ms`.
   * It runs inside the sim so that sampling costs no round trip.
   */
  const watch = (command: Command) =>
    Effect.gen(function*() {
      const guilds = list(command, "guilds")
      const target = num(command, "target")
      const deadline = nowNs() + BigInt(num(command, "timeout_ms")) * 1_000_000n
      const samples: Array<[string, number, number]> = []
      let reached: string | null = null
      while (nowNs() < deadline) {
        const stats = yield* statsOf(guilds)
        const t = nowNs()
        samples.push([String(t), stats.connect_attempts, stats.connected])
        const arrived = command["below"] === true
          ? stats.connected <= target
          : stats.connected >= target && (command["after_drop"] !== true || samples.some((s) => s[2] < target))
        if (arrived) {
          reached = String(t)
          break
        }
        yield* Effect.sleep(Duration.millis(num(command, "interval_ms")))
      }
      return { reached_ns: reached, samples }
    })

  const handle = (command: Command): Effect.Effect<unknown, unknown> => {
    switch (command.cmd) {
      case "openDm":
        return sim.openDm(str(command, "guild"), str(command, "user"), str(command, "peer"))
      case "burst":
        return Effect.gen(function*() {
          const start = nowNs()
          const count = yield* sim.postBurst(str(command, "guild"), str(command, "channel"), {
            author_id: str(command, "author"),
            content: tagged(str(command, "tag")),
            count: num(command, "count")
          })
          return { start_ns: String(start), end_ns: String(nowNs()), count }
        })
      case "pace":
        return FiberMap.run(paced, str(command, "key"), pace(command)).pipe(
          Effect.flatMap((fiber) => fiber.await),
          Effect.flatten,
          Effect.catchAllCause(() => Effect.succeed({ stopped: true }))
        )
      case "historyLag":
        return sim.setHistoryLag(str(command, "guild"), num(command, "lag_ms"))
      case "stop":
        return FiberMap.remove(paced, str(command, "key"))
      case "stats":
        return statsOf(list(command, "guilds"))
      case "watch":
        return watch(command)
      case "drop":
        return Effect.map(Effect.forEach(list(command, "guilds"), (guild) => sim.dropSockets(guild)), (counts) => ({
          dropped: counts.reduce((a, b) => a + b, 0),
          at_ns: String(nowNs())
        }))
      case "logins":
        return Effect.map(Effect.forEach(list(command, "users"), (user) => sim.loginCount(user)), (counts) =>
          counts.reduce((a, b) => a + b, 0))
      case "tokenTtl":
        return sim.setTokenTtl(num(command, "seconds"))
      case "now":
        return Clock.currentTimeMillis
      default:
        return Effect.fail(`unknown command ${command.cmd}`)
    }
  }
  yield* serveCommands(handle)
}).pipe(Effect.scoped)

const StderrLogger = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))

NodeRuntime.runMain(program.pipe(Effect.provide(NodeContext.layer), Effect.provide(StderrLogger)), {
  disablePrettyLogger: true
})
