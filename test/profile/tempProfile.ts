/**
 * Temporary profile directories for the profile and CLI suites, removed when the test's scope
 * closes. A file's content is written as given when a string, else as JSON.
 */
import { FileSystem, Path } from "@effect/platform"
import { Effect, Logger, LogLevel } from "effect"

export type ProfileFiles = Readonly<Record<string, unknown>>

export const writeProfileFiles = (root: string, files: ProfileFiles) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    for (const [file, content] of Object.entries(files)) {
      const target = path.join(root, file)
      yield* fs.makeDirectory(path.dirname(target), { recursive: true })
      yield* fs.writeFileString(target, typeof content === "string" ? content : JSON.stringify(content, null, 2))
    }
  }).pipe(Effect.orDie)

/** A fresh profile root holding `files`. */
export const tempProfile = (files: ProfileFiles = {}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const root = yield* Effect.orDie(fs.makeTempDirectoryScoped({ prefix: "plexum-profile-" }))
    yield* writeProfileFiles(root, files)
    return root
  })

export const readText = (root: string, file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    return yield* Effect.orDie(fs.readFileString(path.join(root, file)))
  })

/** Runs `effect` with a logger that records every message at `minimum` and above. */
export const captureLogs = <A, E, R>(effect: Effect.Effect<A, E, R>, minimum: LogLevel.LogLevel = LogLevel.Info) =>
  Effect.gen(function*() {
    const messages: Array<string> = []
    const logger = Logger.make(({ message }) => {
      messages.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    })
    const result = yield* effect.pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(minimum)
    )
    return { result, messages }
  })

export const binding = (agentId: string, guild: unknown, channel: string, extra: Record<string, unknown> = {}) => ({
  plugin: "plexum-fabric-channel",
  agent_id: agentId,
  fabric_guild_node_id: guild,
  fabric_channel_id: channel,
  ...extra
})
