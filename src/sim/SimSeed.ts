/**
 * A sim's starting population, written by hand (demo, bench) and answered with every id the
 * caller needs. Entities are named by `key`s of the seed's own choosing, so a seed file never
 * hard-codes the sim's generated ids.
 */
import { Schema } from "effect"

export const SeedUser = Schema.Struct({
  key: Schema.String,
  display_name: Schema.String,
  kind: Schema.Literal("user", "agent"),
  email: Schema.optional(Schema.String),
  /** Agents only; generated when absent. */
  api_key: Schema.optional(Schema.String)
})

export const SeedChannel = Schema.Struct({
  key: Schema.String,
  name: Schema.String,
  x_type: Schema.Literal("group", "public", "private"),
  /** User keys. */
  members: Schema.Array(Schema.String)
})

export const SeedGuild = Schema.Struct({
  key: Schema.String,
  name: Schema.String,
  /** 0 or absent: an ephemeral port. */
  port: Schema.optional(Schema.Int),
  /** User keys. */
  members: Schema.Array(Schema.String),
  channels: Schema.optionalWith(Schema.Array(SeedChannel), { default: () => [] })
})

export class SimSeed extends Schema.Class<SimSeed>("SimSeed")({
  token_ttl_seconds: Schema.optional(Schema.Number),
  users: Schema.Array(SeedUser),
  guilds: Schema.Array(SeedGuild)
}) {}

export const SeededUser = Schema.Struct({
  id: Schema.String,
  display_name: Schema.String,
  kind: Schema.Literal("user", "agent"),
  api_key: Schema.optional(Schema.Redacted(Schema.String))
})

export const SeededGuild = Schema.Struct({
  node_id: Schema.String,
  name: Schema.String,
  endpoint: Schema.String,
  /** channel key → channel id */
  channels: Schema.Record({ key: Schema.String, value: Schema.String })
})

/** What a seeded sim tells its caller (and what `src/sim/main.ts` prints as one JSON line). */
export const SeedResult = Schema.Struct({
  center_api_base: Schema.String,
  control_base: Schema.String,
  users: Schema.Record({ key: Schema.String, value: SeededUser }),
  guilds: Schema.Record({ key: Schema.String, value: SeededGuild })
})
export type SeedResult = typeof SeedResult.Type
