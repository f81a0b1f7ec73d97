/**
 * `npm run bench`: the plugin (dist/bin/plugin.js) against a raw socket.io-client baseline on
 * the same sim, in the same run. Progress on stderr; the table on stdout; everything in
 * bench/results/latest.json. docs/performance.md explains each figure.
 *
 *   node dist-bench/bench/main.js [--runs 3] [--only hot,fleet,startup] [--plugin-node-args "--cpu-prof …"]
 */
import { Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { progress, seed, startSim } from "./Bench.js"
import { resultsDir, simHostPath } from "./paths.js"
import { failuresOf, type Results, rowsOf, table } from "./Report.js"
import { fleet } from "./scenarios/fleet.js"
import { hotPath } from "./scenarios/hotPath.js"
import { startup } from "./scenarios/startup.js"

const SCENARIOS = ["hot", "fleet", "startup"] as const

const runsOption = Options.integer("runs").pipe(Options.withDefault(3), Options.withDescription("runs per figure (median, min, max)"))
const onlyOption = Options.text("only").pipe(
  Options.withDefault(SCENARIOS.join(",")),
  Options.withDescription("comma-separated subset of hot (1, 2), fleet (3, 4), startup (5)")
)

const nodeArgsOption = Options.text("plugin-node-args").pipe(
  Options.withDefault(""),
  Options.withDescription("node options for the plugin processes, e.g. \"--cpu-prof --cpu-prof-dir=bench/results/profiles\"")
)

const describe = (cause: unknown) => (cause instanceof Error ? cause.message : typeof cause === "string" ? cause : JSON.stringify(cause))

const bench = Command.make("plexum-fabric-bench", { runs: runsOption, only: onlyOption, nodeArgs: nodeArgsOption }, ({ nodeArgs, only, runs }) =>
  Effect.gen(function*() {
    const selected = new Set(only.split(",").map((s) => s.trim()))
    const seedPath = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const path = join(tmpdir(), `plexum-bench-seed-${process.pid}.json`)
        writeFileSync(path, JSON.stringify(seed()))
        return path
      }),
      (path) => Effect.sync(() => rmSync(path, { force: true }))
    )
    const started = process.hrtime.bigint()
    yield* progress(`starting the sim (${runs} runs per figure)`)
    const context = yield* startSim(seedPath, simHostPath, runs, nodeArgs.split(" ").filter((arg) => arg.length > 0))
    const results: Results = {}
    const attempt = <A extends object>(name: keyof Results, scenario: Effect.Effect<A, unknown>) =>
      selected.has(name === "hotPath" ? "hot" : name)
        ? scenario.pipe(
          Effect.catchAllCause((cause) =>
            progress(`${name} failed: ${describe(cause._tag === "Fail" ? cause.error : cause)}`).pipe(
              Effect.as({ error: describe(cause._tag === "Fail" ? cause.error : cause) })
            )
          ),
          Effect.map((result) => void ((results as Record<string, unknown>)[name] = result))
        )
        : Effect.void
    yield* attempt("hotPath", hotPath(context))
    yield* attempt("fleet", fleet(context))
    yield* attempt("startup", startup(context))

    const rows = rowsOf(results)
    const failures = failuresOf(results)
    const report = {
      generated_at: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? "unknown", node: process.version, platform: process.platform },
      runs,
      duration_s: Number(process.hrtime.bigint() - started) / 1e9,
      rows,
      failures,
      results
    }
    mkdirSync(resultsDir, { recursive: true })
    writeFileSync(join(resultsDir, "latest.json"), JSON.stringify(report, null, 2) + "\n")
    yield* progress(`done in ${report.duration_s.toFixed(0)} s; wrote bench/results/latest.json`)
    yield* Effect.sync(() =>
      process.stdout.write(
        `${table(rows)}\n\nmedian (min–max) of ${runs} runs; ${report.machine.cpus} × ${report.machine.cpu_model}, Node ${report.machine.node}\n` +
          failures.map((f) => `FAILED ${f}\n`).join("")
      )
    )
  }).pipe(Effect.scoped))

const cli = Command.run(bench, { name: "plexum-fabric-bench", version: "1.0.0" })

cli(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain({ disablePrettyLogger: true }))
