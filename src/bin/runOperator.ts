/**
 * How an operator command runs as a process: results on stdout, errors and logs on stderr, and
 * the exit status: 0 done, 1 failed (the message says why), 2 bad usage (the usage was printed).
 */
import { ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Exit, Layer, Logger, Option } from "effect"
import type { CommandFailed } from "../cli/CommandFailed.js"
import { type FabricTransport, FabricTransportLive } from "../fabric/FabricTransport.js"
import { type CommandName, usageText } from "../cli/Usage.js"

const exitCode = (exit: Exit.Exit<unknown, unknown>): number =>
  Exit.match(exit, {
    onSuccess: () => 0,
    onFailure: (cause) =>
      Cause.isInterruptedOnly(cause)
        ? 130
        : Option.match(Cause.failureOption(cause), {
          onNone: () => 1,
          onSome: (error) => (ValidationError.isValidationError(error) ? 2 : 1)
        })
  })

/** stdout carries the command's result only: log lines go to stderr, as `name: warning: …`. */
const stderrLogger = (name: string) =>
  Logger.make(({ logLevel, message }) => {
    const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
    globalThis.console.error(`${name}: ${logLevel.label.toLowerCase()}: ${text}`)
  })

const platformLive = (name: string) =>
  Layer.mergeAll(NodeContext.layer, FabricTransportLive, Logger.replace(Logger.defaultLogger, stderrLogger(name)))

/** @effect/cli has already printed what was wrong with the usage: the usage follows. */
const report = (name: CommandName, cause: Cause.Cause<CommandFailed | ValidationError.ValidationError>) =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) =>
      ValidationError.isValidationError(error)
        ? Console.error(`\n${usageText(name)}`)
        : Console.error(`${name}: ${error.message}`),
    onNone: () =>
      Cause.isInterruptedOnly(cause) ? Effect.void : Console.error(`${name}: unexpected failure\n${Cause.pretty(cause)}`)
  })

/** NO_COLOR (no-color.org) or a pipe or file: no ANSI escapes. */
const colourOff = (stream: NodeJS.WriteStream) =>
  (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") || stream.isTTY !== true

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g

const plain = (stream: NodeJS.WriteStream) => (value: unknown) =>
  colourOff(stream) && typeof value === "string" ? value.replace(ANSI, "") : value

/** @effect/cli styles its help and errors with ANSI codes: they are dropped where colour is off. */
const withPlainText = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.console, (console) =>
    Effect.withConsole(self, {
      ...console,
      log: (...args: ReadonlyArray<unknown>) => console.log(...args.map(plain(process.stdout))),
      error: (...args: ReadonlyArray<unknown>) => console.error(...args.map(plain(process.stderr)))
    }))

export const runOperator = <E extends CommandFailed | ValidationError.ValidationError>(
  name: CommandName,
  command: Effect.Effect<void, E, NodeContext.NodeContext | FabricTransport>
): void =>
  command.pipe(
    Effect.tapErrorCause((cause) => report(name, cause)),
    withPlainText,
    Effect.provide(platformLive(name)),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      disablePrettyLogger: true,
      teardown: (exit, onExit) => onExit(exitCode(exit))
    })
  )
