/**
 * `plexum-fabric-bind --name <channel> --agent-id <id> --guild <node id> --channel <id> [--profile <dir>]`:
 * binds a Plexum channel to a Fabric channel by writing `channels/<name>.json` (profile.md).
 * It refuses a name already taken (by a file or by another binding's `name`), writes the file
 * atomically without replacing anything, and checks that the whole profile still loads.
 *
 * Results go to stdout; a failure is a CommandFailed for the bin entry to print on stderr.
 */
import { Command, Options } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, Logger, LogLevel, Option } from "effect"
import { createFileAtomic } from "../profile/AtomicFile.js"
import { Profile, resolveProfileRoot } from "../profile/Profile.js"
import { holdProfileLock } from "../profile/ProfileLock.js"
import { type Binding, CHANNEL_NAME_PATTERN, CHANNELS_DIR, enabledIdentity, PLUGIN_NAME } from "../profile/ProfileSchema.js"
import { VERSION } from "../version.js"
import { checkAgentId, CommandFailed, profileFailed, profileOption } from "./CommandFailed.js"

/** Binding files hold no secret: readable by the user's other tools. */
const BINDING_FILE_MODE = 0o644

export interface BindInput {
  readonly name: string
  readonly agentId: string
  readonly guild: string
  readonly channel: string
  readonly profile: Option.Option<string>
}

const checkName = (name: string) =>
  !CHANNEL_NAME_PATTERN.test(name) || name.endsWith(".json")
    ? Effect.fail(
      new CommandFailed({
        message: `--name "${name}" cannot be a channel name: use letters, digits, ".", "_" or "-" ` +
          `(starting with a letter or digit, at most 100, without ".json")`
      })
    )
    : Effect.succeed(name)

/** Fabric ids carry a kind prefix (`g_…`, `c_…`); a swapped pair is the likely mistake. */
const checkFabricId = (option: string, value: string, prefix: string, what: string) =>
  value.startsWith(prefix) && value.length > prefix.length && /^[A-Za-z0-9_.:-]+$/.test(value)
    ? Effect.succeed(value)
    : Effect.fail(
      new CommandFailed({
        message: `--${option} "${value}" is not a Fabric ${what} id: ${what} ids start with "${prefix}" ` +
          `and contain no spaces (copy it from Fabric)`
      })
    )

const describe = (binding: Binding) =>
  `agent ${binding.agentId}, guild ${binding.guildNodeId}, Fabric channel ${binding.channelId}`

/** Writes the binding file and prints what it did; a warning for an agent without identity. */
export const bind = Effect.fn("bind")(function*(input: BindInput) {
  const name = yield* checkName(input.name)
  const agentId = yield* checkAgentId(input.agentId)
  const guild = yield* checkFabricId("guild", input.guild.trim(), "g_", "guild node")
  const channel = yield* checkFabricId("channel", input.channel.trim(), "c_", "channel")
  const root = yield* resolveProfileRoot(input.profile)
  const profile = yield* Profile
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const file = `${CHANNELS_DIR}/${name}.json`
  // Held until the command ends: the name check, the write and the re-check are one step.
  yield* holdProfileLock(root).pipe(Effect.mapError((error) => new CommandFailed({ message: error.message })))

  const before = yield* profile.load(root).pipe(
    Effect.mapError((error) =>
      new CommandFailed({ message: `${profileFailed(error).message}; fix it first, then bind again` })
    )
  )
  const taken = before.bindings.find((binding) => binding.name === name)
  if (taken !== undefined) {
    return yield* new CommandFailed({
      message: `channel name "${name}" is already bound by ${taken.file} (${describe(taken)}): ` +
        `choose another --name, or remove that file first`
    })
  }

  const content = {
    plugin: PLUGIN_NAME,
    agent_id: agentId,
    fabric_guild_node_id: guild,
    fabric_channel_id: channel
  }
  yield* createFileAtomic(root, file, `${JSON.stringify(content, null, 2)}\n`, BINDING_FILE_MODE).pipe(
    Effect.catchTags({
      FileExists: () =>
        new CommandFailed({
          message: `${file} already exists (it may belong to another plugin): choose another --name, ` +
            `or remove that file first`
        }),
      ProfileWriteError: (error) => new CommandFailed({ message: `${error.file}: ${error.message}` })
    })
  )

  // Another binding may have claimed the name since the first load: never leave a profile broken.
  const after = yield* profile.load(root).pipe(
    // The first load already warned about anything worth a warning.
    Logger.withMinimumLogLevel(LogLevel.Error),
    Effect.tapError(() => Effect.ignore(fs.remove(path.join(root, file)))),
    Effect.mapError((error) => new CommandFailed({ message: `${profileFailed(error).message}; ${file} was not kept` }))
  )
  const bound: Binding = { name, agentId, guildNodeId: guild, channelId: channel, file }
  yield* Console.log(`bound channel ${name} (${describe(bound)}) in ${path.join(root, file)}`)
  if (enabledIdentity(after, agentId) === undefined) {
    yield* Console.error(
      `note: agent ${agentId} has no enabled Fabric identity yet; register its key with ` +
        `plexum-fabric-register --agent-id ${agentId} --api-key <key>`
    )
  }
}, Effect.scoped)

const nameOption = Options.text("name").pipe(
  Options.withDescription("the Plexum channel name (also the file name channels/<name>.json)")
)
const agentIdOption = Options.text("agent-id").pipe(Options.withDescription("the Plexum agent id"))
const guildOption = Options.text("guild").pipe(Options.withDescription("the Fabric guild node id (g_…)"))
const channelOption = Options.text("channel").pipe(Options.withDescription("the Fabric channel id (c_…)"))

export const bindCommand = Command.make(
  "plexum-fabric-bind",
  { name: nameOption, agentId: agentIdOption, guild: guildOption, channel: channelOption, profile: profileOption },
  bind
).pipe(
  Command.withDescription("Binds a Plexum channel to a Fabric channel: writes channels/<name>.json in the profile.")
)

/** The command over `process.argv`; needs the platform (FileSystem, Path, Terminal). */
/** What the command needs besides the platform (FileSystem, Path, Terminal). */
export const BindLive = Profile.Default

export const bindCli = Command.run(bindCommand, { name: "plexum-fabric-bind", version: VERSION })
