/**
 * STUB — owned by the fabric/sessions helper. Signature is the contract other modules rely on.
 */
import { Effect, Redacted, Schema } from "effect"
import type { Session } from "../fabric/FabricContract.js"

export class SessionError extends Schema.TaggedError<SessionError>()("SessionError", {
  agentId: Schema.String,
  guildNodeId: Schema.optional(Schema.String),
  reason: Schema.Literal("no_identity", "login_failed", "no_guild_access", "center_unavailable"),
  message: Schema.String
}) {}

export interface AgentSession {
  readonly agentId: string
  readonly session: Session
  /** The agent's own Fabric user id. */
  readonly userId: string
  /** Increases with every login of this agent; lets `invalidate` skip a session already replaced. */
  readonly generation: number
}

export interface GuildAccess {
  readonly agentId: string
  readonly guildNodeId: string
  readonly endpoint: string
  readonly token: Redacted.Redacted<string>
  readonly userId: string
  readonly generation: number
}

export class Sessions extends Effect.Service<Sessions>()("plexum-fabric/Sessions", {
  succeed: {
    get: (_agentId: string): Effect.Effect<AgentSession, SessionError> => Effect.dieMessage("not implemented"),
    guild: (_agentId: string, _guildNodeId: string): Effect.Effect<GuildAccess, SessionError> =>
      Effect.dieMessage("not implemented"),
    /** Drops the cached session; with `generation`, only when it is still that one. */
    invalidate: (_agentId: string, _generation?: number): Effect.Effect<void> => Effect.void,
    /** Logs in every agent with bindings in the background; problems are warnings. */
    warm: Effect.void as Effect.Effect<void>
  }
}) {}
