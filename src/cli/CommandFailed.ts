/**
 * The one failure of an operator command: a line for stderr saying what went wrong and what
 * to do. The bin entries print it and choose the exit status.
 */
import { Options } from "@effect/cli"
import { Effect, Schema } from "effect"
import { formatProfileError, type ProfileError } from "../profile/Profile.js"

export class CommandFailed extends Schema.TaggedError<CommandFailed>()("CommandFailed", {
  message: Schema.String
}) {}

/** A profile that does not load, as a command failure. */
export const profileFailed = (error: ProfileError): CommandFailed =>
  new CommandFailed({ message: `the profile has a problem: ${formatProfileError(error)}` })

const controlChars = /[\u0000-\u001f\u007f]/

/** A Plexum agent id: one token, no whitespace (it is a JSON key and appears in every log line). */
export const checkAgentId = (agentId: string): Effect.Effect<string, CommandFailed> => {
  const trimmed = agentId.trim()
  return trimmed === "" || /\s/.test(trimmed) || controlChars.test(trimmed)
    ? Effect.fail(
      new CommandFailed({
        message: `--agent-id "${agentId}" is not a Plexum agent id: give the id as Plexum shows it, one word without spaces`
      })
    )
    : Effect.succeed(trimmed)
}

/** `--profile <dir>`; see resolveProfileRoot for the fallbacks. */
export const profileOption = Options.directory("profile").pipe(
  Options.withDescription("the Plexum profile directory (default: $PLEXUM_PROFILE_ROOT, else ~/.plexum)"),
  Options.optional
)
