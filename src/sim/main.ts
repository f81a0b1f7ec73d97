/**
 * The sim as its own process, for the demo and the benchmark:
 *
 *   node dist/sim/main.js [--seed seed.json] [--port 0] [--token-ttl 900]
 *
 * Starts a sim, applies the seed, prints the SeedResult as one JSON line on stdout (its only
 * use of stdout), then serves until SIGINT/SIGTERM closes every server. Logs go to stderr.
 */
import { Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Logger, Option, Schema } from "effect"
import { VERSION } from "../version.js"
import { Sim } from "./Sim.js"
import { SeedResult, SimSeed } from "./SimSeed.js"

/** The seed file could not be read or does not match the seed schema (docs/sim.md). */
export class SimSeedError extends Schema.TaggedError<SimSeedError>()("SimSeedError", {
  message: Schema.String
}) {}

const seedOption = Options.file("seed", { exists: "yes" }).pipe(
  Options.withDescription("JSON seed: users, guilds, channels (see docs/sim.md)"),
  Options.optional
)
const portOption = Options.integer("port").pipe(
  Options.withDescription("center port; 0 picks an ephemeral one"),
  Options.withDefault(0)
)
const ttlOption = Options.integer("token-ttl").pipe(
  Options.withDescription("guild token lifetime in seconds"),
  Options.optional
)

const decodeSeed = Schema.decodeUnknown(Schema.parseJson(SimSeed))
const encodeResult = Schema.encode(Schema.parseJson(SeedResult))

const readSeed = (path: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(path)).pipe(
    Effect.flatMap(decodeSeed),
    Effect.mapError((error) => new SimSeedError({ message: `seed file ${path} is not a valid sim seed: ${error.message}` }))
  )

const serve = Command.make(
  "plexum-fabric-sim",
  { seed: seedOption, port: portOption, tokenTtl: ttlOption },
  ({ port, seed, tokenTtl }) =>
    Effect.gen(function*() {
      const sim = yield* Sim.start({ centerPort: port, tokenTtlSeconds: Option.getOrUndefined(tokenTtl) })
      const loaded = yield* Option.match(seed, {
        onNone: () => Effect.succeed(new SimSeed({ users: [], guilds: [] })),
        onSome: readSeed
      })
      const line = yield* Effect.flatMap(sim.seed(loaded), encodeResult).pipe(
        Effect.mapError((error) => new SimSeedError({ message: `the seed could not be applied: ${error.message}` }))
      )
      yield* Effect.sync(() => process.stdout.write(`${line}\n`))
      yield* Effect.logInfo("sim ready").pipe(Effect.annotateLogs({ center: sim.centerApiBase }))
      return yield* Effect.never
    }).pipe(Effect.scoped)
)

const cli = Command.run(serve, { name: "plexum-fabric-sim", version: VERSION })

const StderrLogger = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))

cli(process.argv).pipe(
  Effect.provide(Layer.merge(NodeContext.layer, StderrLogger)),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
