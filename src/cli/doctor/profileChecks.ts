/**
 * The doctor's checks of the profile files, one file at a time, so that every problem is
 * reported, not only the first one as when the plugin loads the profile.
 */
import { FileSystem, Path } from "@effect/platform"
import { Effect, Either, Option } from "effect"
import { decodeProfileFile, parseJsonText, type ProfileError } from "../../profile/Profile.js"
import {
  BindingFile,
  CHANNELS_DIR,
  CONFIG_FILE,
  IDENTITIES_FILE,
  IDENTITIES_FILE_MODE,
  IdentitiesFile,
  PLUGIN_NAME,
  PluginConfigFile
} from "../../profile/ProfileSchema.js"
import { type CheckResult, fail, pass } from "./Check.js"

export const registerHint = (root: string, agentId = "<agent id>") =>
  `plexum-fabric-register --profile ${root} --agent-id ${agentId} --api-key <key>`
export const bindHint = (root: string) =>
  `plexum-fabric-bind --profile ${root} --name <channel name> --agent-id <agent id> --guild <g_…> --channel <c_…>`

/** A ProfileError under a title that already names the file: the field and the problem. */
const problem = (error: ProfileError) => (error.field === undefined ? error.message : `field ${error.field}: ${error.message}`)

/** A file read as JSON: absent, unreadable / not JSON (with why), or its value. */
type JsonFile =
  | { readonly _tag: "Absent" }
  | { readonly _tag: "Broken"; readonly why: string }
  | { readonly _tag: "Json"; readonly value: unknown }

/** `file` is relative to `root`; messages name it so, as the plugin's own errors do. */
const readJson = (fs: FileSystem.FileSystem, root: string, file: string): Effect.Effect<JsonFile> =>
  fs.readFileString(`${root}/${file}`).pipe(
    Effect.map((text): JsonFile =>
      Either.match(parseJsonText(file, text), {
        onLeft: (error) => ({ _tag: "Broken", why: problem(error) }),
        onRight: (value) => ({ _tag: "Json", value })
      })
    ),
    Effect.catchAll((e): Effect.Effect<JsonFile> =>
      Effect.succeed(
        e._tag === "SystemError" && e.reason === "NotFound"
          ? { _tag: "Absent" }
          : { _tag: "Broken", why: `cannot be read (${e.message})` }
      ))
  )

export const checkRoot = Effect.fn("doctor.checkRoot")(function*(root: string) {
  const fs = yield* FileSystem.FileSystem
  const title = "profile directory"
  const info = yield* Effect.option(fs.stat(root))
  if (Option.isSome(info) && info.value.type === "Directory") return pass("root", title, `${root} exists`)
  return fail(
    "root",
    title,
    Option.isSome(info) ? `${root} is not a directory` : `${root} does not exist`,
    "pass --profile <dir> or set PLEXUM_PROFILE_ROOT to the Plexum profile directory (default ~/.plexum)"
  )
})

export const checkConfig = Effect.fn("doctor.checkConfig")(function*(root: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const title = `config ${CONFIG_FILE}`
  const edit = `edit ${path.join(root, CONFIG_FILE)}; the fields and their defaults are in docs/configuration.md`
  const file = yield* readJson(fs, root, CONFIG_FILE)
  switch (file._tag) {
    case "Absent":
      return pass("config", title, "no file: every field has its default")
    case "Broken":
      return fail("config", title, file.why, edit)
    case "Json":
      return Either.match(
        decodeProfileFile(PluginConfigFile, file.value, {
          file: CONFIG_FILE,
          fix: "fix the value, or remove the field to use its default",
          knownFields: Object.keys(PluginConfigFile.fields)
        }),
        {
          onLeft: (error) => fail("config", title, problem(error), edit),
          onRight: (config) => pass("config", title, `decodes; center ${config.center_api_base}`)
        }
      )
  }
})

export interface IdentitiesFacts {
  readonly result: CheckResult
  /** Agent id → enabled, when the file decoded. */
  readonly agents: Option.Option<ReadonlyMap<string, boolean>>
}

export const checkIdentities = Effect.fn("doctor.checkIdentities")(function*(root: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const full = path.join(root, IDENTITIES_FILE)
  const title = `identities ${IDENTITIES_FILE}`
  const failed = (detail: string, fix: string): IdentitiesFacts => ({
    result: fail("identities", title, detail, fix),
    agents: Option.none()
  })
  const file = yield* readJson(fs, root, IDENTITIES_FILE)
  if (file._tag === "Absent") {
    return failed("the file does not exist: no agent has a Fabric identity", `register each agent: ${registerHint(root)}`)
  }
  if (file._tag === "Broken") {
    return failed(file.why, `register the agents again (it rewrites the file): ${registerHint(root)}`)
  }
  const mode = Option.map(yield* Effect.option(fs.stat(full)), (info) => info.mode & 0o777)
  if (process.platform !== "win32" && Option.isSome(mode) && mode.value !== IDENTITIES_FILE_MODE) {
    return failed(
      `the file has mode 0${mode.value.toString(8)}; it holds API keys and must be readable by its owner only (0600)`,
      `chmod 600 ${full}`
    )
  }
  const decoded = decodeProfileFile(IdentitiesFile, file.value, {
    file: IDENTITIES_FILE,
    fix: "fix it by hand, or register the agent again",
    secret: true
  })
  if (Either.isLeft(decoded)) return failed(problem(decoded.left), `register the agent again: ${registerHint(root)}`)
  const agents = new Map(Object.entries(decoded.right.agents).map(([id, entry]) => [id, entry.enabled] as const))
  const enabled = [...agents].filter(([, on]) => on).map(([id]) => id)
  const disabled = agents.size - enabled.length
  return {
    result: pass(
      "identities",
      title,
      `mode 0600; enabled: ${enabled.length === 0 ? "none" : enabled.join(", ")}${disabled > 0 ? `; ${disabled} disabled` : ""}`
    ),
    agents: Option.some(agents)
  } satisfies IdentitiesFacts
})

interface BindingEntry {
  readonly file: string
  readonly name: string
  readonly agentId: string
}

export const checkBindings = Effect.fn("doctor.checkBindings")(function*(
  root: string,
  agents: Option.Option<ReadonlyMap<string, boolean>>
) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dir = path.join(root, CHANNELS_DIR)
  const names = yield* fs.readDirectory(dir).pipe(
    Effect.map((entries) => entries.filter((e) => e.endsWith(".json")).sort()),
    Effect.orElseSucceed(() => [] as Array<string>)
  )
  const results: Array<CheckResult> = []
  const ours: Array<BindingEntry> = []
  for (const entry of names) {
    const file = `${CHANNELS_DIR}/${entry}`
    const id = `binding:${file}`
    const title = `binding ${file}`
    const json = yield* readJson(fs, root, file)
    if (json._tag !== "Json") {
      results.push(fail(id, title, json._tag === "Broken" ? json.why : "vanished while being read", `fix or delete ${path.join(root, file)}`))
      continue
    }
    const plugin = (json.value as { readonly plugin?: unknown } | null)?.plugin
    // Another plugin's binding is none of our business, as long as it says so.
    if (typeof plugin === "string" && plugin !== PLUGIN_NAME) continue
    const decoded = decodeProfileFile(BindingFile, json.value, { file, fix: "fix the value" })
    if (Either.isLeft(decoded)) {
      results.push(
        fail(id, title, problem(decoded.left), `edit ${path.join(root, file)} or write it again with ${bindHint(root)}`)
      )
      continue
    }
    const binding = decoded.right
    const name = binding.name ?? entry.slice(0, -".json".length)
    ours.push({ file, name, agentId: binding.agent_id })
    const enabled = Option.flatMap(agents, (map) => Option.fromNullable(map.get(binding.agent_id)))
    if (Option.isSome(agents) && !Option.getOrElse(enabled, () => false)) {
      results.push(
        fail(
          id,
          title,
          `agent ${binding.agent_id} has no enabled Fabric identity in ${IDENTITIES_FILE}`,
          `register it: ${registerHint(root, binding.agent_id)}`
        )
      )
      continue
    }
    results.push(
      pass(id, title, `channel ${name}: agent ${binding.agent_id}, guild ${binding.fabric_guild_node_id}, channel ${binding.fabric_channel_id}`)
    )
  }
  return results.length === 0 ? [noBindings(root)] : markDuplicates(results, ours, root)
})

const noBindings = (root: string) =>
  fail(
    "bindings",
    `bindings ${CHANNELS_DIR}/*.json`,
    `no channel binding of ${PLUGIN_NAME}: the agents are members of no Fabric channel`,
    `bind a channel: ${bindHint(root)}`
  )

/** Two files of this plugin with the same channel name: both fail, each naming the other. */
const markDuplicates = (
  results: ReadonlyArray<CheckResult>,
  ours: ReadonlyArray<BindingEntry>,
  root: string
): ReadonlyArray<CheckResult> =>
  results.map((result) => {
    const self = ours.find((b) => `binding:${b.file}` === result.id)
    const twin = self && ours.find((b) => b.name === self.name && b.file !== self.file)
    return self && twin
      ? fail(
        result.id,
        result.title,
        `channel name ${self.name} is also the name of ${twin.file}`,
        `rename one of them: set "name" in ${root}/${self.file} or ${root}/${twin.file}`
      )
      : result
  })
