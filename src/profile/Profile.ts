/**
 * Reads the Plexum profile (profile.md v1): the plugin config, the Fabric identities and this
 * plugin's channel bindings. Every problem is a ProfileError naming the file and the field,
 * saying what is wrong and what to do; no error ever holds an API key.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Config, Effect, Either, Option, ParseResult, Schema } from "effect"
import { homedir } from "node:os"
import { readAtMost } from "./BoundedRead.js"
import { annotateSpan } from "../telemetry/Spans.js"
import {
  type Binding,
  BindingFile,
  CHANNEL_NAME_PATTERN,
  CHANNEL_NAME_RULE,
  CHANNELS_DIR,
  CONFIG_FILE,
  IDENTITIES_FILE,
  IdentitiesFile,
  type Identity,
  type LoadedProfile,
  PLUGIN_NAME,
  type PluginConfig,
  PluginConfigFile
} from "./ProfileSchema.js"

export class ProfileError extends Schema.TaggedError<ProfileError>()("ProfileError", {
  /** Path of the file at fault, relative to the profile root. */
  file: Schema.String,
  /** Dotted field path, when one field is at fault. */
  field: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/** One line for an operator: `file (field x): message`. */
export const formatProfileError = (error: ProfileError): string =>
  `${error.file}${error.field === undefined ? "" : ` (field ${error.field})`}: ${error.message}`

// ---------------------------------------------------------------------------------------------
// Profile root

/** `PLEXUM_PROFILE_ROOT`, when set and not blank. */
export const profileRootEnv: Config.Config<Option.Option<string>> = Config.string("PLEXUM_PROFILE_ROOT").pipe(
  Config.option,
  Config.map(Option.filter((value) => value.trim() !== ""))
)

const expandHome = (dir: string) =>
  dir === "~" ? homedir() : dir.startsWith("~/") ? `${homedir()}${dir.slice(1)}` : dir

/**
 * The profile root as an absolute path: `explicit` (a `--profile` option) when given, else
 * `PLEXUM_PROFILE_ROOT`, else `~/.plexum`.
 */
export const resolveProfileRoot = Effect.fn("Profile.resolveRoot")(function*(explicit: Option.Option<string>) {
  const path = yield* Path.Path
  const fromEnv = yield* Effect.orDie(profileRootEnv)
  const chosen = Option.orElse(explicit, () => fromEnv).pipe(Option.getOrElse(() => path.join(homedir(), ".plexum")))
  return path.resolve(expandHome(chosen))
})

// ---------------------------------------------------------------------------------------------
// Reading files

const isNotFound = (error: PlatformError) => error._tag === "SystemError" && error.reason === "NotFound"

const unreadable = (file: string, error: PlatformError) =>
  new ProfileError({
    file,
    message: `cannot be read (${error._tag === "SystemError" ? error.reason : error.message}); ` +
      "check that it is a readable file for the user running the plugin"
  })

/** V8 quotes the start of the text in some messages: cut it, it may be part of a key. */
const jsonSyntaxDetail = (error: unknown, text: string): string => {
  const raw = error instanceof Error ? error.message : String(error)
  const detail = raw.replace(/, ".*" is not valid JSON$/s, "").replace(/ (in JSON )?at position \d+.*$/s, "")
  const position = /at position (\d+)/.exec(raw)?.[1]
  const offset = position === undefined ? (/end of JSON input/.test(raw) ? text.length : undefined) : Number(position)
  if (offset === undefined) return detail
  const before = text.slice(0, offset).split("\n")
  return `${detail} at line ${before.length}, column ${before[before.length - 1]!.length + 1}`
}

/** Parses JSON text; a syntax error names the file and where, never quoting the content. */
export const parseJsonText = (file: string, text: string): Either.Either<unknown, ProfileError> =>
  Either.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) =>
      new ProfileError({
        file,
        message: `is not valid JSON (${jsonSyntaxDetail(error, text)}); fix the syntax, e.g. a missing comma or quote`
      })
  })

/** No profile file is larger: a bigger one is a mistake (or a device), never read whole. */
export const PROFILE_FILE_MAX_BYTES = 1024 * 1024

const notRegular = (file: string, type: FileSystem.File.Type) =>
  new ProfileError({
    file,
    message: `is not a regular file (it is a ${type === "Unknown" ? "special file" : type}, after following links); ` +
      "profile files must be regular JSON files: replace it with one, or remove it"
  })

const tooLarge = (file: string, size: number) =>
  new ProfileError({
    file,
    message: `is ${size > PROFILE_FILE_MAX_BYTES * 10 ? "far " : ""}over the ${PROFILE_FILE_MAX_BYTES / 1024} KiB ` +
      "a profile file may hold; check that it is the right file, and remove what does not belong in it"
  })

/**
 * The text of `root/file`, or none when it does not exist. Only a regular file is opened (a FIFO
 * would block the read forever, a device never ends), and at most PROFILE_FILE_MAX_BYTES of it are
 * read, whatever its size claims (a /proc file claims 0).
 */
export const readProfileText = (root: string, file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const full = path.join(root, file)
    const info = yield* fs.stat(full).pipe(
      Effect.map(Option.some),
      Effect.catchIf(isNotFound, () => Effect.succeedNone),
      Effect.mapError((error) => unreadable(file, error))
    )
    if (Option.isNone(info)) return Option.none<string>()
    if (info.value.type !== "File") return yield* notRegular(file, info.value.type)
    if (Number(info.value.size) > PROFILE_FILE_MAX_BYTES) return yield* tooLarge(file, Number(info.value.size))
    const content = yield* Effect.scoped(
      Effect.flatMap(fs.open(full, { flag: "r" }), (handle) => readAtMost(handle, PROFILE_FILE_MAX_BYTES))
    ).pipe(Effect.mapError((error) => unreadable(file, error)))
    if (content.length > PROFILE_FILE_MAX_BYTES) return yield* tooLarge(file, content.length)
    return Option.some(new TextDecoder().decode(content))
  })

/** The parsed JSON of `root/file`, or none when the file does not exist. */
export const readProfileJson = (root: string, file: string) =>
  Effect.gen(function*() {
    const text = yield* readProfileText(root, file)
    if (Option.isNone(text)) return Option.none<unknown>()
    return Option.some(yield* parseJsonText(file, text.value))
  })

// ---------------------------------------------------------------------------------------------
// Schema errors → ProfileError

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const valueAt = (input: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>((value, key) => (isRecord(value) ? value[String(key)] : undefined), input)

const quote = (value: unknown) => {
  const json = JSON.stringify(value) ?? String(value)
  return json.length > 60 ? `${json.slice(0, 57)}...` : json
}

/** "Expected a positive number, actual -1" → "must be a positive number, not -1". */
const describeIssue = (issue: ParseResult.ArrayFormatterIssue, input: unknown, secret: boolean): string => {
  if (issue._tag === "Missing") return "is required but missing"
  const expected = /^Expected (.*?), actual /s.exec(issue.message)?.[1]
  if (expected === undefined) return secret ? "has an invalid value" : issue.message
  const actual = secret ? "a value of another type" : quote(valueAt(input, issue.path))
  return `must be ${/^\{|Struct|Record/.test(expected) ? "a JSON object" : expected}, not ${actual}`
}

export interface DecodeContext {
  /** The file, relative to the profile root. */
  readonly file: string
  /** What the operator should do about a bad value. */
  readonly fix: string
  /** Fields listed for an unknown one. */
  readonly knownFields?: ReadonlyArray<string>
  /** Values must not be quoted: the file holds secrets. */
  readonly secret?: boolean
}

const toProfileError = (context: DecodeContext, error: ParseResult.ParseError, input: unknown): ProfileError => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const unknown = issues.filter((issue) => issue._tag === "Unexpected").map((issue) => issue.path.join("."))
  if (unknown.length > 0) {
    const names = unknown.map((name) => `"${name}"`).join(", ")
    return new ProfileError({
      file: context.file,
      field: unknown[0],
      message: `unknown field${unknown.length > 1 ? "s" : ""} ${names}: fix the spelling or remove ${
        unknown.length > 1 ? "them" : "it"
      }${context.knownFields === undefined ? "" : ` (known fields: ${context.knownFields.join(", ")})`}`
    })
  }
  const issue = issues[0]
  if (issue === undefined || issue.path.length === 0) {
    return new ProfileError({ file: context.file, message: `must hold a JSON object; ${context.fix}` })
  }
  return new ProfileError({
    file: context.file,
    field: issue.path.join("."),
    message: `${describeIssue(issue, input, context.secret === true)}; ${context.fix}`
  })
}

/** Decodes `input` with `schema`, as a ProfileError naming the file and the field. */
export const decodeProfileFile = <A, I>(
  schema: Schema.Schema<A, I>,
  input: unknown,
  context: DecodeContext
): Either.Either<A, ProfileError> =>
  Schema.decodeUnknownEither(schema, {
    errors: "all",
    onExcessProperty: context.knownFields === undefined ? "ignore" : "error"
  })(input).pipe(Either.mapLeft((error) => toProfileError(context, error, input)))

const configContext: DecodeContext = {
  file: CONFIG_FILE,
  fix: "fix the value, or remove the field to use its default (see docs/configuration.md)",
  knownFields: Object.keys(PluginConfigFile.fields)
}

export const identitiesContext: DecodeContext = {
  file: IDENTITIES_FILE,
  fix: "register the agent again with plexum-fabric-register, or fix the file by hand",
  secret: true
}

const bindingContext = (file: string): DecodeContext => ({
  file,
  fix: "fix the value, or recreate the file with plexum-fabric-bind"
})

// ---------------------------------------------------------------------------------------------
// The service

export class Profile extends Effect.Service<Profile>()("plexum-fabric/Profile", {
  effect: Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path

    const readJson = (root: string, file: string) =>
      readProfileJson(root, file).pipe(Effect.provideService(FileSystem.FileSystem, fs), Effect.provideService(Path.Path, path))

    const loadConfig = Effect.fn("Profile.loadConfig")(function*(root: string) {
      const json = yield* readJson(root, CONFIG_FILE)
      return yield* decodeProfileFile(PluginConfigFile, Option.getOrElse(json, () => ({})), configContext)
    })

    /**
     * The mode last warned about, per identities file: the plugin loads the profile more than
     * once (initialize, then a look for changes made while it started), and one warning per
     * file state is enough.
     */
    const warnedModes = new Map<string, number>()

    /** A secret readable by others still works, but the operator should know (once per mode). */
    const warnIfShared = (root: string) => {
      const file = path.join(root, IDENTITIES_FILE)
      return fs.stat(file).pipe(
        Effect.flatMap((info) => {
          const mode = info.mode & 0o777
          const shared = process.platform !== "win32" && (mode & 0o077) !== 0
          if (!shared) return Effect.sync(() => void warnedModes.delete(file))
          if (warnedModes.get(file) === mode) return Effect.void
          warnedModes.set(file, mode)
          return Effect.logWarning(
            `${IDENTITIES_FILE} holds API keys but other users may read it (mode ${
              mode.toString(8).padStart(4, "0")
            }); restrict it with: chmod 600 ${file}`
          )
        }),
        Effect.ignore
      )
    }

    const loadIdentities = Effect.fnUntraced(function*(root: string) {
      const json = yield* readJson(root, IDENTITIES_FILE)
      if (Option.isNone(json)) return new Map<string, Identity>()
      yield* warnIfShared(root)
      const file = yield* decodeProfileFile(IdentitiesFile, json.value, identitiesContext)
      return new Map(
        Object.entries(file.agents).map(([agentId, entry]): [string, Identity] => [
          agentId,
          { agentId, apiKey: entry.fabric_api_key, enabled: entry.enabled }
        ])
      )
    })

    const listChannelFiles = (root: string) =>
      fs.readDirectory(path.join(root, CHANNELS_DIR)).pipe(
        Effect.map((names) => names.filter((name) => name.endsWith(".json")).sort()),
        Effect.catchIf(isNotFound, () => Effect.succeed<Array<string>>([])),
        Effect.mapError((error) => unreadable(CHANNELS_DIR, error))
      )

    /** This plugin's binding in `file`, or none when the file belongs to another plugin. */
    const loadBinding = Effect.fnUntraced(function*(root: string, fileName: string) {
      const file = `${CHANNELS_DIR}/${fileName}`
      const json = yield* readJson(root, file)
      if (Option.isNone(json) || !isRecord(json.value) || json.value["plugin"] !== PLUGIN_NAME) {
        yield* Effect.logDebug(`skipping ${file}: it is not a ${PLUGIN_NAME} binding`)
        return Option.none<Binding>()
      }
      const decoded = yield* decodeProfileFile(BindingFile, json.value, bindingContext(file))
      const name = decoded.name ?? fileName.slice(0, -".json".length)
      if (!CHANNEL_NAME_PATTERN.test(name)) {
        return yield* new ProfileError({
          file,
          field: "name",
          message: `${JSON.stringify(name.slice(0, 100))} cannot be a channel name (${
            decoded.name === undefined ? "taken from the file name" : "the \"name\" field"
          }): use ${CHANNEL_NAME_RULE}; rename the file or set a valid "name"`
        })
      }
      return Option.some<Binding>({
        name,
        agentId: decoded.agent_id,
        guildNodeId: decoded.fabric_guild_node_id,
        channelId: decoded.fabric_channel_id,
        ...(decoded.commands && decoded.commands.length > 0 ? { commands: decoded.commands } : {}),
        file
      })
    })

    const loadBindings = Effect.fnUntraced(function*(root: string) {
      const files = yield* listChannelFiles(root)
      const byName = new Map<string, Binding>()
      for (const fileName of files) {
        const binding = yield* loadBinding(root, fileName)
        if (Option.isNone(binding)) continue
        const other = byName.get(binding.value.name)
        if (other !== undefined) {
          return yield* new ProfileError({
            file: binding.value.file,
            field: "name",
            message: `channel name "${binding.value.name}" is also used by ${other.file}; ` +
              `each channel name must be unique: rename one of the two files or set a different "name" in one`
          })
        }
        byName.set(binding.value.name, binding.value)
      }
      return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    })

    const load = Effect.fn("Profile.load")(function*(root: string) {
      yield* annotateSpan({ root })
      const config: PluginConfig = yield* loadConfig(root)
      const identities = yield* loadIdentities(root)
      const bindings = yield* loadBindings(root)
      return { root, config, identities, bindings } satisfies LoadedProfile
    })

    return {
      /** Reads and validates the whole profile under `root`. */
      load,
      /** Reads only the plugin config (operator commands that need nothing else). */
      loadConfig
    } as const
  })
}) {}
