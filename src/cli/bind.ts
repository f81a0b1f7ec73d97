/**
 * `plexum-fabric-bind --name <channel> --agent-id <id> --guild <node id> --channel <id> [--profile <dir>] [--no-verify]`:
 * binds a Plexum channel to a Fabric channel by writing `channels/<name>.json` (profile.md).
 * It refuses a name already taken (by a file or by another binding's `name`), refuses a guild
 * the agent is not a member of (its login lists its guilds; skipped with --no-verify or when the
 * agent has no identity yet), writes the file atomically without replacing anything, and checks
 * that the whole profile still loads.
 *
 * `--list` prints the bindings; `--remove <channel>` deletes one.
 *
 * Results go to stdout; a failure is a CommandFailed for the bin entry to print on stderr.
 */
import { Command, Options } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import { Console, Effect, Layer, Logger, LogLevel, Option } from "effect"
import { CenterApi } from "../fabric/CenterApi.js"
import { RequestPolicy, requestPolicy } from "../fabric/FabricHttp.js"
import { createFileAtomic } from "../profile/AtomicFile.js"
import { Profile, resolveProfileRoot } from "../profile/Profile.js"
import { holdProfileLock } from "../profile/ProfileLock.js"
import { type Binding, CHANNEL_NAME_PATTERN, CHANNELS_DIR, enabledIdentity, type LoadedProfile, PLUGIN_NAME } from "../profile/ProfileSchema.js"
import { VERSION } from "../version.js"
import { checkAgentId, CommandFailed, profileFailed, profileOption } from "./CommandFailed.js"
import { Progress } from "./Progress.js"

/** Binding files hold no secret: readable by the user's other tools. */
const BINDING_FILE_MODE = 0o644

export interface BindInput {
  readonly name: string
  readonly agentId: string
  readonly guild: string
  readonly channel: string
  readonly profile: Option.Option<string>
  readonly noVerify: boolean
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

const nothingWritten = "nothing was written (--no-verify binds without checking)"

/**
 * Logs the agent in and refuses a guild it is not a member of: its login lists its guilds.
 * Answers whether the guild was checked (an agent without identity cannot log in yet).
 */
const checkGuild = Effect.fnUntraced(function*(profile: LoadedProfile, agentId: string, guild: string) {
  const identity = enabledIdentity(profile, agentId)
  if (identity === undefined) return false
  const center = yield* CenterApi
  const progress = yield* Progress
  const base = profile.config.center_api_base
  const session = yield* progress.step(
    `logging in agent ${agentId} at ${base} to check guild ${guild}`,
    center.login(base, identity.apiKey).pipe(
      Effect.provideService(RequestPolicy, requestPolicy(profile.config)),
      Effect.mapError((error) =>
        new CommandFailed({
          message: `cannot check guild ${guild}: agent ${agentId} could not log in (${error.message}); ${nothingWritten}`
        })
      )
    )
  )
  if (!session.guilds.some((g) => g.node_id === guild)) {
    const guilds = session.guilds.map((g) => `${g.node_id} (${g.name})`).join(", ") || "none"
    return yield* new CommandFailed({
      message: `agent ${agentId} (Fabric user ${session.user.id}) is not a member of guild ${guild}; its guilds: ${guilds}. ` +
        `Check --guild (copy it from Fabric) or add the agent to the guild in Fabric; ${nothingWritten}`
    })
  }
  return true
})

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
        `choose another --name, or remove it first: plexum-fabric-bind --remove ${name}`
    })
  }
  const checked = input.noVerify ? false : yield* checkGuild(before, agentId, guild)

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
  yield* Console.log(
    `bound channel ${name} (${describe(bound)}) in ${path.join(root, file)}${checked ? "" : "; guild membership not checked"}`
  )
  if (enabledIdentity(after, agentId) === undefined) {
    yield* Console.error(
      `note: agent ${agentId} has no enabled Fabric identity yet; register its key with ` +
        `plexum-fabric-register --agent-id ${agentId} --api-key <key>`
    )
  }
}, Effect.scoped)

const loadFor = (what: string) => (root: string) =>
  Effect.flatMap(Profile, (profile) => profile.load(root)).pipe(
    Effect.mapError((error) => new CommandFailed({ message: `${profileFailed(error).message}; fix it first, then ${what} again` }))
  )

/** Prints one line per binding (tab-separated: name, agent, guild, channel, file), or says there is none. */
export const listBindings = Effect.fn("bind.list")(function*(input: { readonly profile: Option.Option<string> }) {
  const root = yield* resolveProfileRoot(input.profile)
  const loaded = yield* loadFor("list")(root)
  if (loaded.bindings.length === 0) {
    return yield* Console.log(`no channel is bound in ${root}; bind one with plexum-fabric-bind --name <channel> …`)
  }
  for (const b of loaded.bindings) {
    yield* Console.log([b.name, b.agentId, b.guildNodeId, b.channelId, b.file].join("\t"))
  }
})

/** Deletes the binding file of channel `name`; a running plugin drops the channel on its next reload. */
export const removeBinding = Effect.fn("bind.remove")(
  function*(input: { readonly remove: string; readonly profile: Option.Option<string> }) {
    const root = yield* resolveProfileRoot(input.profile)
    const loaded = yield* loadFor("remove it")(root)
    const binding = loaded.bindings.find((b) => b.name === input.remove)
    if (binding === undefined) {
      const names = loaded.bindings.map((b) => b.name).join(", ") || "none"
      return yield* new CommandFailed({
        message: `no channel named "${input.remove}" is bound in ${root} (bound: ${names}); nothing was removed`
      })
    }
    const path = yield* Path.Path
    const file = path.join(root, binding.file)
    yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.remove(file)).pipe(
      Effect.mapError((error) => new CommandFailed({ message: `${file} cannot be removed: ${error.message}` }))
    )
    yield* Console.log(`removed channel ${binding.name} (${describe(binding)}): deleted ${file}`)
  }
)

const nameOption = Options.text("name").pipe(
  Options.withDescription("the Plexum channel name (also the file name channels/<name>.json)")
)
const agentIdOption = Options.text("agent-id").pipe(Options.withDescription("the Plexum agent id"))
const guildOption = Options.text("guild").pipe(Options.withDescription("the Fabric guild node id (g_…)"))
const channelOption = Options.text("channel").pipe(Options.withDescription("the Fabric channel id (c_…)"))
const noVerifyOption = Options.boolean("no-verify").pipe(
  Options.withDescription("write the binding without logging the agent in to check the guild")
)

export const bindCommand = Command.make(
  "plexum-fabric-bind",
  {
    name: nameOption,
    agentId: agentIdOption,
    guild: guildOption,
    channel: channelOption,
    profile: profileOption,
    noVerify: noVerifyOption
  },
  bind
).pipe(
  Command.withDescription("Binds a Plexum channel to a Fabric channel: writes channels/<name>.json in the profile.")
)

const listCommand = Command.make(
  "plexum-fabric-bind",
  { list: Options.boolean("list").pipe(Options.withDescription("list the bindings")), profile: profileOption },
  listBindings
)

const removeCommand = Command.make(
  "plexum-fabric-bind",
  { remove: Options.text("remove").pipe(Options.withDescription("the channel name to unbind")), profile: profileOption },
  removeBinding
)

/** What the command needs besides the platform (FileSystem, Path, Terminal, FabricTransport). */
export const BindLive = Layer.mergeAll(Profile.Default, CenterApi.Default, Progress.Default)

const runConfig = { name: "plexum-fabric-bind", version: VERSION }

/** Three modes, chosen by `--list` or `--remove`; each parses its own options. */
export const bindCli = (argv: ReadonlyArray<string>) => {
  const args = argv.slice(2)
  return args.includes("--list")
    ? Command.run(listCommand, runConfig)(argv)
    : args.some((arg) => arg === "--remove" || arg.startsWith("--remove="))
    ? Command.run(removeCommand, runConfig)(argv)
    : Command.run(bindCommand, runConfig)(argv)
}

/** The command over `argv`, as its bin runs it. */
export const bindProgram = (argv: ReadonlyArray<string>) => bindCli(argv).pipe(Effect.provide(BindLive))
