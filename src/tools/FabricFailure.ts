/**
 * A failed Fabric call as the one line a tool answers with: what went wrong and what the agent
 * (or its operator) can do. Built from the error's fields, never from a request, so no key or
 * token can reach the text.
 */
import { Effect } from "effect"
import type { FabricCallError } from "../fabric/FabricApi.js"
import type { FabricError } from "../fabric/FabricError.js"
import type { SessionError } from "../fabric/GuildAccess.js"
import { fail, type ToolFailure } from "./Tool.js"

export interface FailureContext {
  readonly agentId: string
  readonly guildNodeId: string
  /** The Fabric channel the call was about, when there is one. */
  readonly channelId?: string | undefined
  /** Tool-specific lines that say more than the generic ones. */
  readonly forbidden?: string | undefined
  readonly notFound?: string | undefined
  readonly conflict?: ((error: FabricError) => string) | undefined
}

const register = (agentId: string) => `plexum-fabric-register --agent-id ${agentId}`

const sessionLine = (error: SessionError, ctx: FailureContext): string => {
  switch (error.reason) {
    case "no_identity":
      return `agent "${ctx.agentId}" has no enabled Fabric identity; add its API key with ${register(ctx.agentId)}`
    case "login_failed":
      return `the Fabric center refused the login of agent "${ctx.agentId}"; check its API key with ${register(ctx.agentId)}`
    case "no_guild_access":
      return `agent "${ctx.agentId}" has no access to guild ${ctx.guildNodeId}; add the agent to that guild in Fabric, or fix fabric_guild_node_id in the binding`
    case "center_unavailable":
      return `the Fabric center cannot be reached to log in agent "${ctx.agentId}"; retry later, or check center_api_base in the plugin config`
  }
}

const subject = (ctx: FailureContext) => ctx.channelId ?? `guild ${ctx.guildNodeId}`

const fabricLine = (error: FabricError, ctx: FailureContext): string => {
  switch (error.reason) {
    case "forbidden":
      return ctx.forbidden ?? (ctx.channelId === undefined
        ? `Fabric refused this for agent "${ctx.agentId}" in guild ${ctx.guildNodeId}${codeOf(error)}; it is not allowed there`
        : `the agent is not a member of ${ctx.channelId}${codeOf(error)}; ask a member to invite it`)
    case "not_found":
      return ctx.notFound ??
        `${subject(ctx)} was not found in guild ${ctx.guildNodeId}${codeOf(error)}; list_channels shows the agent's channels`
    case "conflict":
      return ctx.conflict?.(error) ?? `Fabric reported a conflict${codeOf(error)}: ${error.message}`
    case "too_large":
      return `Fabric refused the payload as too large${codeOf(error)}; send something smaller (files: at most 25 MiB)`
    case "unauthorized":
      return `Fabric refused agent "${ctx.agentId}" even after a new login; check its API key with ${register(ctx.agentId)}`
    case "rate_limited":
      return `Fabric is rate limiting agent "${ctx.agentId}"; wait a minute, then retry`
    case "unavailable":
      return `guild ${ctx.guildNodeId} cannot be reached (${error.route}); retry in a moment`
    case "bad_request":
      return `Fabric rejected the request${codeOf(error)}: ${error.message}`
    case "invalid_response":
      return `guild ${ctx.guildNodeId} answered ${error.route} with something unexpected; retry, and report it if it persists`
  }
}

const codeOf = (error: FabricError) => (error.code === undefined ? "" : ` (${error.code})`)

export const explain = (error: FabricCallError, ctx: FailureContext): ToolFailure =>
  fail(error._tag === "SessionError" ? sessionLine(error, ctx) : fabricLine(error, ctx))

/** Maps the Fabric errors of a call to the tool's one-line failure. */
export const orExplain = (ctx: FailureContext) => <A, R>(
  effect: Effect.Effect<A, FabricCallError | ToolFailure, R>
): Effect.Effect<A, ToolFailure, R> =>
  Effect.mapError(effect, (error) => (error._tag === "ToolFailure" ? error : explain(error, ctx)))
