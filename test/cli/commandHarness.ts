/**
 * Runs an operator command in-process, exactly as its bin parses `argv`, with stdout and stderr
 * captured, so tests can assert what the operator sees and that no secret is among it.
 */
import { Cause, Console, Effect, Exit, Option } from "effect"
import { CommandFailed } from "../../src/cli/CommandFailed.js"

export interface CommandRun<E> {
  readonly exit: Exit.Exit<void, E>
  readonly stdout: string
  readonly stderr: string
}

export const runCaptured = <E, R>(command: (argv: ReadonlyArray<string>) => Effect.Effect<void, E, R>, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const base = yield* Effect.console
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const captured: Console.Console = {
      ...base,
      log: (...parts) => Effect.sync(() => void stdout.push(parts.map(String).join(" "))),
      error: (...parts) => Effect.sync(() => void stderr.push(parts.map(String).join(" ")))
    }
    const exit = yield* Effect.exit(Effect.withConsole(command(["node", "command", ...args]), captured))
    return { exit, stdout: stdout.join("\n"), stderr: stderr.join("\n") } satisfies CommandRun<E>
  })

/** The typed failure of a run, if it failed with one. */
export const failureOf = <E>(run: CommandRun<E>): E | undefined =>
  Exit.isFailure(run.exit) ? Option.getOrUndefined(Cause.failureOption(run.exit.cause)) : undefined

/** The CommandFailed of a run that failed with one. */
export const commandFailure = <E>(run: CommandRun<E>): CommandFailed | undefined => {
  const failure = failureOf(run)
  return failure instanceof CommandFailed ? failure : undefined
}
