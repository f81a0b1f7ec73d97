/**
 * The Plexum profile files (profile.md v1) as Schemas, and the loaded profile the running
 * plugin works from. Field names follow the files; the loaded form uses camelCase.
 */
import { Context, Redacted, Schema } from "effect"
import { SlashCommand } from "../fabric/FabricContract.js"
import { DEFAULT_MAX_RESPONSE_MIB, DEFAULT_MAX_RETRIES, DEFAULT_REQUEST_TIMEOUT_SECONDS } from "../fabric/FabricHttp.js"

export const PLUGIN_NAME = "plexum-fabric-channel"

/** Profile files, relative to the profile root (POSIX separators; join them with Path). */
export const CONFIG_FILE = "plugins/plexum-fabric-channel/config.json"
export const IDENTITIES_FILE = "fabric-identities.json"
export const CHANNELS_DIR = "channels"
/**
 * A Plexum channel name: it is a file name and is published in the manifest, so it stays portable
 * and free of path separators (`../../etc/passwd` is not a name).
 */
export const CHANNEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/
export const CHANNEL_NAME_RULE = `letters, digits, ".", "_" or "-", starting with a letter or digit, at most 100`

/** `fabric-identities.json` holds API keys: owner read/write only. */
export const IDENTITIES_FILE_MODE = 0o600

const PositiveInt = Schema.Int.pipe(Schema.positive())
const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())
const AbsolutePath = Schema.String.pipe(
  Schema.filter((value) => value.startsWith("/") || /^[A-Za-z]:[\\/]/.test(value), {
    message: () => "must be an absolute directory path"
  })
)

/** profile.md v1.1 "Who may wake an agent": who may wake, per kind of channel. */
export const WakeMode = Schema.Literal("open", "allowlist", "off")
export type WakeMode = typeof WakeMode.Type

/** One agent's overrides in `wake_policy.agents`: each field replaces the guild-wide one. */
export const AgentWakePolicy = Schema.Struct({
  dm: Schema.optional(WakeMode),
  group: Schema.optional(WakeMode),
  allow_from: Schema.optional(Schema.Array(Schema.String)),
  agent_loop_limit: Schema.optional(NonNegativeInt)
})

export const WakePolicyConfig = Schema.Struct({
  dm: Schema.optionalWith(WakeMode, { default: () => "open" as const }),
  group: Schema.optionalWith(WakeMode, { default: () => "open" as const }),
  allow_from: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  agent_loop_limit: Schema.optionalWith(NonNegativeInt, { default: () => 20 }),
  agents: Schema.optionalWith(Schema.Record({ key: Schema.String, value: AgentWakePolicy }), { default: () => ({}) })
})
export type WakePolicyConfig = typeof WakePolicyConfig.Type

/** `plugins/plexum-fabric-channel/config.json`. Unknown fields are an error (see Profile). */
export const PluginConfigFile = Schema.Struct({
  center_api_base: Schema.optionalWith(Schema.String, { default: () => "http://localhost:7001/api" }),
  session_ttl_seconds: Schema.optionalWith(PositiveInt, { default: () => 480 }),
  channel_sync_interval_seconds: Schema.optionalWith(PositiveInt, { default: () => 60 }),
  dedup_capacity: Schema.optionalWith(PositiveInt, { default: () => 5000 }),
  queue_idle_seconds: Schema.optionalWith(PositiveInt, { default: () => 5 }),
  // profile.md v1.1.
  /** Record-only messages carried per notification (`fabric.history`); 0: none. */
  history_limit: Schema.optionalWith(NonNegativeInt, { default: () => 20 }),
  /** Burst merging window per (channel, author), in ms; 0: off. */
  coalesce_ms: Schema.optionalWith(NonNegativeInt, { default: () => 0 }),
  coalesce_max_messages: Schema.optionalWith(PositiveInt, { default: () => 20 }),
  presence_sync: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  presence_activity: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  typing: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  typing_max_seconds: Schema.optionalWith(PositiveInt, { default: () => 120 }),
  max_chunks: Schema.optionalWith(PositiveInt, { default: () => 10 }),
  /** Waking messages one catch-up delivers per channel at most. */
  catchup_max_messages: Schema.optionalWith(PositiveInt, { default: () => 5000 }),
  wake_policy: Schema.optionalWith(WakePolicyConfig, { default: () => Schema.decodeUnknownSync(WakePolicyConfig)({}) }),
  // Extensions of profile.md (documented in docs/configuration.md).
  /** History calls in flight at once per guild node during catch-up (shared by its agents). */
  catchup_concurrency: Schema.optionalWith(PositiveInt, { default: () => 4 }),
  /**
   * Retired: live messages are never held for a history call any more; continuity is checked
   * in the background (`fabric.late`). Still accepted, so an existing config loads; a warning
   * at start asks to remove it.
   */
  live_gap_check: Schema.optional(Schema.Boolean),
  /** Deliver messages posted before the plugin started (first connect). Off: only new ones. */
  replay_on_start: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Upper bound for one REST call to Fabric. */
  request_timeout_seconds: Schema.optionalWith(PositiveInt, { default: () => DEFAULT_REQUEST_TIMEOUT_SECONDS }),
  /** Retries of a transient Fabric failure (5xx, refused, timeout, 429) before it is reported. */
  max_retries: Schema.optionalWith(NonNegativeInt, { default: () => DEFAULT_MAX_RETRIES }),
  /** Directories `send_file` may read a path under (absolute); none: path uploads are off. */
  file_roots: Schema.optionalWith(Schema.Array(AbsolutePath), { default: () => [] }),
  /** Overall bound on one tool call, retries and `Retry-After` waits included. */
  tool_call_timeout_seconds: Schema.optionalWith(PositiveInt, { default: () => 30 }),
  /** Largest JSON response body read from Fabric, in MiB; a larger one is refused unread. */
  max_response_mib: Schema.optionalWith(PositiveInt, { default: () => DEFAULT_MAX_RESPONSE_MIB })
})
export type PluginConfig = typeof PluginConfigFile.Type

export const defaultConfig: PluginConfig = Schema.decodeUnknownSync(PluginConfigFile)({})

/** `fabric-identities.json` */
export const IdentityEntry = Schema.Struct({
  fabric_api_key: Schema.Redacted(Schema.String),
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true })
})
export const IdentitiesFile = Schema.Struct({
  version: Schema.Literal(1),
  agents: Schema.Record({ key: Schema.String, value: IdentityEntry })
})
export type IdentitiesFile = typeof IdentitiesFile.Type

/** `channels/<name>.json` */
export const BindingFile = Schema.Struct({
  plugin: Schema.String,
  agent_id: Schema.NonEmptyString,
  fabric_guild_node_id: Schema.NonEmptyString,
  fabric_channel_id: Schema.NonEmptyString,
  name: Schema.optional(Schema.NonEmptyString),
  /** v1.1: slash commands registered for the agent in the binding's guild (command sync). */
  commands: Schema.optional(Schema.Array(SlashCommand))
})

export interface Identity {
  readonly agentId: string
  readonly apiKey: Redacted.Redacted<string>
  readonly enabled: boolean
}

export interface Binding {
  /** The Plexum channel name. */
  readonly name: string
  readonly agentId: string
  readonly guildNodeId: string
  readonly channelId: string
  /** v1.1 slash commands of this binding (absent when none). */
  readonly commands?: ReadonlyArray<typeof SlashCommand.Type>
  /** The binding file, relative to the profile root, for messages. */
  readonly file: string
}

export interface LoadedProfile {
  readonly root: string
  readonly config: PluginConfig
  /** Enabled and disabled identities by Plexum agent id. */
  readonly identities: ReadonlyMap<string, Identity>
  /** This plugin's bindings, sorted by channel name. */
  readonly bindings: ReadonlyArray<Binding>
}

/** The profile loaded at `initialize`; every service of the running plugin reads it. */
export class ActiveProfile extends Context.Tag("plexum-fabric/ActiveProfile")<ActiveProfile, LoadedProfile>() {}

export const enabledIdentity = (profile: LoadedProfile, agentId: string): Identity | undefined => {
  const identity = profile.identities.get(agentId)
  return identity?.enabled ? identity : undefined
}
