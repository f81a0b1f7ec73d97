/**
 * A temporary Plexum profile, written the way an operator writes one: config.json by hand,
 * then the real `plexum-fabric-register` and `plexum-fabric-bind` commands (the built bins, as
 * subprocesses). The directory is removed when the scope closes.
 */
import { Command, FileSystem, Path } from "@effect/platform"
import { Chunk, Effect, Redacted, Stream } from "effect"
import { CONFIG_FILE } from "../profile/ProfileSchema.js"
import { DemoError } from "./DemoError.js"

export interface DemoBinding {
  readonly name: string
  readonly agentId: string
  readonly guildNodeId: string
  readonly channelId: string
}

export interface DemoProfileSpec {
  readonly binDir: string
  readonly centerApiBase: string
  readonly agentId: string
  readonly apiKey: Redacted.Redacted<string>
  readonly bindings: ReadonlyArray<DemoBinding>
  /** More config.json settings (docs/configuration.md), e.g. `{ coalesce_ms: 1500 }`. */
  readonly config?: Record<string, unknown> | undefined
}

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  stream.pipe(Stream.decodeText(), Stream.runCollect, Effect.map((chunks) => Chunk.join(chunks, "")), Effect.orElseSucceed(() => ""))

/** Runs one of the package's bins; a non-zero exit is a DemoError with what it printed. */
const runBin = (binDir: string, bin: string, args: ReadonlyArray<string>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const proc = yield* Command.start(Command.make(process.execPath, `${binDir}/${bin}.js`, ...args))
      const [stdout, stderr, code] = yield* Effect.all([collect(proc.stdout), collect(proc.stderr), proc.exitCode], {
        concurrency: "unbounded"
      })
      if (code !== 0) {
        return yield* new DemoError({ message: `${bin} exited with status ${code}:\n${stderr || stdout}` })
      }
    })
  ).pipe(Effect.catchTag("SystemError", "BadArgument", (e) => new DemoError({ message: `cannot run ${bin}: ${e.message}` })))

export const makeDemoProfile = (spec: DemoProfileSpec) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = yield* fs.makeTempDirectoryScoped({ prefix: "plexum-demo-profile-" })
    const configFile = path.join(root, CONFIG_FILE)
    yield* fs.makeDirectory(path.dirname(configFile), { recursive: true })
    yield* fs.writeFileString(configFile, JSON.stringify({ center_api_base: spec.centerApiBase, ...spec.config }, null, 2) + "\n")
    yield* runBin(spec.binDir, "register", [
      "--profile",
      root,
      "--agent-id",
      spec.agentId,
      "--api-key",
      Redacted.value(spec.apiKey)
    ])
    for (const binding of spec.bindings) {
      yield* runBin(spec.binDir, "bind", [
        "--profile",
        root,
        "--name",
        binding.name,
        "--agent-id",
        binding.agentId,
        "--guild",
        binding.guildNodeId,
        "--channel",
        binding.channelId
      ])
    }
    return root
  }).pipe(Effect.catchTag("SystemError", "BadArgument", (e) => new DemoError({ message: `cannot write the demo profile: ${e.message}` })))
