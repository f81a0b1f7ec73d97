/**
 * `plexum-fabric-register --agent-id <id> --api-key <key> [--profile <dir>] [--disable] [--no-verify]`:
 * checks the key by logging in to the Fabric center (unless --no-verify), then adds or replaces
 * the agent's entry in `fabric-identities.json`. The key is never printed, logged or traced.
 * `--list` prints the registered agents (never their keys).
 *
 * Results go to stdout; a failure is a CommandFailed for the bin entry to print on stderr.
 */
import { Command, Options } from "@effect/cli"
import { Console, Duration, Effect, Layer, Option, Redacted } from "effect"
import { CenterApi } from "../fabric/CenterApi.js"
import type { SessionUser } from "../fabric/FabricContract.js"
import type { FabricError } from "../fabric/FabricError.js"
import { RequestPolicy, requestPolicy } from "../fabric/FabricHttp.js"
import { IdentitiesStore } from "../profile/IdentitiesStore.js"
import { Profile, resolveProfileRoot } from "../profile/Profile.js"
import { CONFIG_FILE } from "../profile/ProfileSchema.js"
import { VERSION } from "../version.js"
import { checkAgentId, CommandFailed, profileFailed, profileOption } from "./CommandFailed.js"
import { possibleSecrets, withMaskedErrors } from "./MaskedArgs.js"
import { Progress } from "./Progress.js"
import { annotateSpan } from "../telemetry/Spans.js"

/** An operator waits at a terminal: give up on a silent center well before they do. */
export const loginTimeout = Duration.seconds(30)

export interface RegisterInput {
  readonly agentId: string
  readonly apiKey: Redacted.Redacted<string>
  readonly profile: Option.Option<string>
  readonly disable: boolean
  readonly noVerify: boolean
}

const checkApiKey = (apiKey: Redacted.Redacted<string>) => {
  const trimmed = Redacted.value(apiKey).trim()
  return trimmed === "" || /\s/.test(trimmed)
    ? Effect.fail(
      new CommandFailed({
        message: "--api-key is empty or contains spaces: paste the agent's Fabric API key exactly as Fabric showed it"
      })
    )
    : Effect.succeed(Redacted.make(trimmed))
}

const nothingWritten = "nothing was written"

const loginFailed = (center: string, agentId: string) => (error: FabricError): CommandFailed => {
  switch (error.reason) {
    case "unauthorized":
      return new CommandFailed({
        message: `the Fabric center at ${center} rejected the API key for agent ${agentId}: ` +
          `check that the key was copied completely and is still valid in Fabric; ${nothingWritten}`
      })
    case "unavailable":
      return new CommandFailed({
        message: `cannot reach the Fabric center at ${center} (${
          error.status === undefined ? "no connection" : `HTTP ${error.status}`
        }): check that the center is running and that center_api_base in ${CONFIG_FILE} points to it; ` +
          `${nothingWritten} (--no-verify registers without checking the key)`
      })
    default:
      // FabricHttp's message already names the center and what it answered.
      return new CommandFailed({ message: `the login failed: ${error.message}; ${nothingWritten}` })
  }
}

/** Logs in once with the key: the Fabric user it belongs to. */
const verify = Effect.fnUntraced(function*(root: string, agentId: string, apiKey: Redacted.Redacted<string>) {
  const profile = yield* Profile
  const center = yield* CenterApi
  const progress = yield* Progress
  const config = yield* profile.loadConfig(root).pipe(Effect.mapError(profileFailed))
  const base = config.center_api_base
  const session = yield* progress.step(`logging in agent ${agentId} at ${base}`, center.login(base, apiKey).pipe(
    // The retries and timeouts the plugin itself would use with this profile.
    Effect.provideService(RequestPolicy, requestPolicy(config)),
    Effect.mapError(loginFailed(base, agentId)),
    Effect.timeoutFail({
      duration: loginTimeout,
      onTimeout: () =>
        new CommandFailed({
          message: `the Fabric center at ${base} did not answer within ${Duration.format(loginTimeout)}: ` +
            `check that it is running and reachable; ${nothingWritten}`
        })
    })
  ))
  return { center: base, user: session.user }
})

const describeUser = (user: SessionUser) => `"${user.display_name}" (${user.id})`

/** Verifies (unless told not to) and writes the identity; prints what it did. */
export const register = Effect.fn("register")(function*(input: RegisterInput) {
  const agentId = yield* checkAgentId(input.agentId)
  const apiKey = yield* checkApiKey(input.apiKey)
  const root = yield* resolveProfileRoot(input.profile)
  yield* annotateSpan({ agent: agentId })

  const verified = input.noVerify ? Option.none() : Option.some(yield* verify(root, agentId, apiKey))
  if (Option.isSome(verified)) {
    yield* Console.log(
      `verified: the key of agent ${agentId} logs in at ${verified.value.center} as Fabric user ${
        describeUser(verified.value.user)
      }`
    )
  }

  const store = yield* IdentitiesStore
  const written = yield* store.upsert(root, agentId, { apiKey, enabled: !input.disable }).pipe(
    Effect.catchTags({
      ProfileError: (error) => profileFailed(error),
      ProfileWriteError: (error) => new CommandFailed({ message: `${error.file}: ${error.message}` }),
      ProfileLockError: (error) => new CommandFailed({ message: error.message })
    })
  )
  yield* Console.log(
    `${written.replaced ? "replaced" : "added"} agent ${agentId} (${input.disable ? "disabled" : "enabled"}${
      input.noVerify ? ", key not verified" : ""
    }) in ${written.path}`
  )
})

const agentIdOption = Options.text("agent-id").pipe(Options.withDescription("the Plexum agent id"))
const apiKeyOption = Options.redacted("api-key").pipe(
  Options.withDescription("the agent's Fabric API key (never printed)")
)
const disableOption = Options.boolean("disable").pipe(
  Options.withDescription("keep the key but give the agent no Fabric identity until registered again")
)
const noVerifyOption = Options.boolean("no-verify").pipe(
  Options.withDescription("write the key without logging in to the Fabric center first")
)

export const registerCommand = Command.make(
  "plexum-fabric-register",
  {
    agentId: agentIdOption,
    apiKey: apiKeyOption,
    profile: profileOption,
    disable: disableOption,
    noVerify: noVerifyOption
  },
  register
).pipe(
  Command.withDescription(
    "Checks a Fabric API key by logging in to the center, then stores it for a Plexum agent in fabric-identities.json."
  )
)

/** One line per registered agent (tab-separated: agent, enabled or disabled, bindings); never a key. */
export const listAgents = Effect.fn("register.list")(function*(input: { readonly profile: Option.Option<string> }) {
  const root = yield* resolveProfileRoot(input.profile)
  const loaded = yield* Effect.flatMap(Profile, (profile) => profile.load(root)).pipe(
    Effect.mapError((error) => new CommandFailed({ message: `${profileFailed(error).message}; fix it first, then list again` }))
  )
  const agents = [...loaded.identities.values()].sort((a, b) => a.agentId.localeCompare(b.agentId))
  if (agents.length === 0) {
    return yield* Console.log(`no agent is registered in ${root}; register one with plexum-fabric-register --agent-id <id> --api-key <key>`)
  }
  for (const agent of agents) {
    const bindings = loaded.bindings.filter((b) => b.agentId === agent.agentId).length
    yield* Console.log([agent.agentId, agent.enabled ? "enabled" : "disabled", `${bindings} binding(s)`].join("\t"))
  }
})

const listCommand = Command.make(
  "plexum-fabric-register",
  { list: Options.boolean("list").pipe(Options.withDescription("list the registered agents")), profile: profileOption },
  listAgents
)

/** What the command needs besides the platform (FileSystem, Path, Terminal, FabricTransport). */
export const RegisterLive = Layer.mergeAll(Profile.Default, IdentitiesStore.Default, CenterApi.Default, Progress.Default)

const runConfig = { name: "plexum-fabric-register", version: VERSION }

/** The command over `argv` (`--list` is a mode of its own); needs the platform (FileSystem, Path, Terminal, FabricTransport). */
export const registerCli = (argv: ReadonlyArray<string>) =>
  argv.slice(2).includes("--list") ? Command.run(listCommand, runConfig)(argv) : Command.run(registerCommand, runConfig)(argv)

/** The command over `argv`, as its bin runs it; a key given on the line is masked in any error. */
export const registerProgram = (argv: ReadonlyArray<string>) =>
  registerCli(argv).pipe(
    withMaskedErrors(possibleSecrets(argv.slice(2), ["--agent-id", "--profile"])),
    Effect.provide(RegisterLive)
  )
