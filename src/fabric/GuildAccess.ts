/**
 * What a guild REST call needs from whoever holds the agents' logins: the guild's endpoint, a
 * token, and how patient to be. The wire (this folder) names the need; `sessions/Sessions`
 * fills it (`SessionsLive`), so the Fabric wire never imports the layers above it.
 */
import { Context, type Effect, type Redacted, Schema } from "effect"
import type { RequestPolicyShape } from "./FabricHttp.js"

/** Why an agent has no access to a guild: no identity, a refused login, no membership, no center. */
export class SessionError extends Schema.TaggedError<SessionError>()("SessionError", {
  agentId: Schema.String,
  guildNodeId: Schema.optional(Schema.String),
  reason: Schema.Literal("no_identity", "login_failed", "no_guild_access", "center_unavailable"),
  message: Schema.String
}) {}

export interface GuildAccess {
  readonly agentId: string
  readonly guildNodeId: string
  readonly endpoint: string
  readonly token: Redacted.Redacted<string>
  /** When the token expires (epoch ms, Fabric's `expires_at`); NaN when Fabric sent no usable time. */
  readonly expiresAt: number
  readonly userId: string
  /** The login that issued the token: `invalidate` drops that one only. */
  readonly generation: number
}

export class GuildAccessSource extends Context.Tag("plexum-fabric/GuildAccessSource")<GuildAccessSource, {
  /** Endpoint and token of one guild for one agent. */
  readonly guild: (agentId: string, guildNodeId: string) => Effect.Effect<GuildAccess, SessionError>
  /** Drops the agent's login `generation` (a guild refused its token); a newer one is kept. */
  readonly invalidate: (agentId: string, generation: number) => Effect.Effect<void>
  /** Timeout and retries of every guild request, from the profile. */
  readonly policy: RequestPolicyShape
}>() {}
