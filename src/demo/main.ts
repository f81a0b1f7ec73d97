#!/usr/bin/env node
/**
 * `npm run demo [-- --interactive]`: see Demo.ts. The transcript goes to stdout, progress to
 * stderr; the exit status is 0 when every echo arrived and the plugin stopped cleanly.
 */
import { Command, Options, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime, NodeStream } from "@effect/platform-node"
import { Cause, Console, Effect, Layer, Logger, LogLevel, Stream } from "effect"
import { fileURLToPath } from "node:url"
import { Progress } from "../cli/Progress.js"
import { GuildSocket } from "../fabric/GuildSocket.js"
import { VERSION } from "../version.js"
import { runDemo } from "./Demo.js"

const binDir = fileURLToPath(new URL("../bin", import.meta.url))

const interactive = Options.boolean("interactive").pipe(
  Options.withDescription("type as alice (a line goes to the DM, \"#general <text>\" to the group channel); Ctrl-D ends")
)

const demo = Command.make("demo", { interactive }, ({ interactive }) =>
  Effect.scoped(
    runDemo({
      binDir,
      input: interactive ? NodeStream.stdin.pipe(Stream.decodeText(), Stream.splitLines) : undefined
    })
  ))

const cli = Command.run(demo, { name: "plexum-fabric-demo", version: VERSION })

const program = cli(process.argv).pipe(
  Effect.tapErrorCause((cause) => {
    const failure = Cause.failureOption(cause)
    if (failure._tag === "Some" && ValidationError.isValidationError(failure.value)) return Effect.void
    return failure._tag === "Some" && (failure.value as { readonly _tag?: string })._tag === "DemoError"
      ? Console.error(`✗ demo failed: ${(failure.value as { readonly message: string }).message}`)
      : Console.error(Cause.pretty(cause))
  }),
  Effect.provide(Layer.mergeAll(Progress.Default, GuildSocket.Default, NodeContext.layer)),
  // The transcript owns stdout: the services' own warnings go to stderr.
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))),
  Logger.withMinimumLogLevel(LogLevel.Warning)
)

NodeRuntime.runMain(program, { disableErrorReporting: true, disablePrettyLogger: true })
