/**
 * Per-agent Fabric sessions: one login per agent, shared by every socket and tool call of that
 * agent, kept `session_ttl_seconds` (below the ~15 min life of guild tokens). Concurrent
 * lookups of one agent share one login (Cache). A 401 anywhere drops exactly the login that
 * failed (`invalidate` with its generation), so N sockets of one agent that fail together cause
 * one new login, not N.
 */
import { Cache, Clock, Duration, Effect, Exit, Layer, Option, Redacted, Ref } from "effect"
import { CenterApi } from "../fabric/CenterApi.js"
import type { Session } from "../fabric/FabricContract.js"
import type { FabricError } from "../fabric/FabricError.js"
import { RequestPolicy, requestPolicy } from "../fabric/FabricHttp.js"
import { type GuildAccess, GuildAccessSource, SessionError } from "../fabric/GuildAccess.js"
import { ActiveProfile, CONFIG_FILE, IDENTITIES_FILE, type LoadedProfile } from "../profile/ProfileSchema.js"
import { Redactor } from "../secrets/Redactor.js"
import { annotateSpan, fnWhileTracing } from "../telemetry/Spans.js"

export interface AgentSession {
  readonly agentId: string
  readonly session: Session
  /** The agent's own Fabric user id. */
  readonly userId: string
  /** Increases with every login of this agent; lets `invalidate` skip a session already replaced. */
  readonly generation: number
}

/** What an operator runs to give an agent a (new) Fabric identity. */
export const registerCommand = (agentId: string) => `plexum-fabric-register --agent-id ${agentId} --api-key <key>`

const noIdentity = (profile: LoadedProfile, agentId: string) =>
  new SessionError({
    agentId,
    reason: "no_identity",
    message: `agent ${agentId} has ${
      profile.identities.has(agentId) ? "a disabled" : "no"
    } Fabric identity in ${IDENTITIES_FILE}; register it: ${registerCommand(agentId)}`
  })

const loginFailed = (profile: LoadedProfile, agentId: string, error: FabricError) =>
  error.reason === "unauthorized"
    ? new SessionError({
      agentId,
      reason: "login_failed",
      message: `the Fabric center at ${profile.config.center_api_base} refused the API key of agent ${agentId} ` +
        `(${IDENTITIES_FILE}); register a valid key: ${registerCommand(agentId)}`
    })
    : error.reason === "unavailable" || error.reason === "rate_limited"
    ? new SessionError({
      agentId,
      reason: "center_unavailable",
      message: `agent ${agentId} could not log in: ${error.message}; center_api_base is set in ${CONFIG_FILE}`
    })
    : new SessionError({ agentId, reason: "login_failed", message: `agent ${agentId} could not log in: ${error.message}` })

const noGuildAccess = (agent: AgentSession, guildNodeId: string) => {
  const listed = agent.session.guilds.some((g) => g.node_id === guildNodeId)
  const guilds = agent.session.guilds.map((g) => g.node_id).join(", ") || "none"
  return new SessionError({
    agentId: agent.agentId,
    guildNodeId,
    reason: "no_guild_access",
    message: listed
      ? `agent ${agent.agentId} (Fabric user ${agent.userId}) is in guild ${guildNodeId} but the center gave it no token for it; ` +
        `check the agent's membership of guild ${guildNodeId} in Fabric`
      : `agent ${agent.agentId} (Fabric user ${agent.userId}) is not a member of guild ${guildNodeId} (its guilds: ${guilds}); ` +
        `add the agent to the guild in Fabric, or correct fabric_guild_node_id in the channel binding`
  })
}

const guildAccess = (agent: AgentSession, guildNodeId: string): Option.Option<GuildAccess> => {
  const guild = agent.session.guilds.find((g) => g.node_id === guildNodeId)
  const token = agent.session.guild_access_tokens.find((t) => t.guild_node_id === guildNodeId)
  return guild === undefined || token === undefined ? Option.none() : Option.some({
    agentId: agent.agentId,
    guildNodeId,
    endpoint: guild.endpoint,
    token: token.token,
    expiresAt: Date.parse(token.expires_at),
    userId: agent.userId,
    generation: agent.generation
  })
}

export class Sessions extends Effect.Service<Sessions>()("plexum-fabric/Sessions", {
  effect: Effect.gen(function*() {
    const profile = yield* ActiveProfile
    const center = yield* CenterApi
    const redactor = yield* Redactor
    for (const identity of profile.identities.values()) redactor.register(Redacted.value(identity.apiKey))
    const policy = requestPolicy(profile.config)
    const ttl = Duration.seconds(profile.config.session_ttl_seconds)
    const generations = yield* Ref.make(0)
    /**
     * The login each agent holds, until its TTL ends (Clock ms). A guild lookup within it is a
     * map read; the Cache, which shares one login among concurrent lookups, is asked only when
     * there is none. The Cache's own lookup cost some 70 fiber steps per call, and every guild
     * REST call and every socket connect makes one.
     */
    const held = new Map<string, { readonly session: AgentSession; readonly until: number }>()

    const login = (agentId: string) =>
      Effect.gen(function*() {
        const identity = profile.identities.get(agentId)
        if (identity === undefined || !identity.enabled) return yield* noIdentity(profile, agentId)
        const session = yield* center.login(profile.config.center_api_base, identity.apiKey).pipe(
          Effect.provideService(RequestPolicy, policy),
          Effect.mapError((error) => loginFailed(profile, agentId, error))
        )
        // Before anything can quote them: a guild may echo its token in an error body.
        for (const access of session.guild_access_tokens) redactor.register(Redacted.value(access.token))
        const generation = yield* Ref.updateAndGet(generations, (n) => n + 1)
        yield* Effect.logDebug(`agent ${agentId} logged in to Fabric as ${session.user.id} (login #${generation})`)
        const agent: AgentSession = { agentId, session, userId: session.user.id, generation }
        held.set(agentId, { session: agent, until: (yield* Clock.currentTimeMillis) + Duration.toMillis(ttl) })
        return agent
      }).pipe(Effect.withSpan("Sessions.login", { attributes: { agent: agentId } }), Effect.annotateLogs({ service: "Sessions" }))

    const cache = yield* Cache.makeWith({
      capacity: Math.max(64, profile.identities.size),
      lookup: login,
      // A failed login is shared by the lookups waiting on it, then forgotten: the next call
      // tries again (the operator may have fixed the key or started Fabric meanwhile).
      timeToLive: Exit.match({ onFailure: () => Duration.zero, onSuccess: () => ttl })
    })

    /** The agent's session, logging in when there is none or it is older than the TTL. */
    const get = fnWhileTracing("Sessions.get")(Effect.fnUntraced(function*(agentId: string) {
      yield* annotateSpan({ agent: agentId })
      return yield* cache.get(agentId)
    }))

    /** Drops the cached session; with `generation`, only when it is still that one. */
    const invalidate = fnWhileTracing("Sessions.invalidate")(Effect.fnUntraced(function*(agentId: string, generation?: number) {
      yield* annotateSpan({ agent: agentId })
      const current = held.get(agentId)
      if (current !== undefined && (generation === undefined || current.session.generation === generation)) held.delete(agentId)
      yield* generation === undefined
        ? cache.invalidate(agentId)
        : cache.invalidateWhen(agentId, (current) => current.generation === generation)
    }))

    /**
     * Endpoint and token of one guild. A guild missing from the session may have been joined
     * since the login: one fresh login settles it.
     */
    const lookUpGuild = fnWhileTracing("Sessions.guild")(Effect.fnUntraced(function*(agentId: string, guildNodeId: string) {
      yield* annotateSpan({ agent: agentId, guild: guildNodeId })
      const first = yield* cache.get(agentId)
      const access = guildAccess(first, guildNodeId)
      if (Option.isSome(access)) return access.value
      yield* invalidate(agentId, first.generation)
      const second = yield* cache.get(agentId)
      return yield* Option.match(guildAccess(second, guildNodeId), {
        onNone: () => Effect.fail(noGuildAccess(second, guildNodeId)),
        onSome: Effect.succeed
      })
    }))

    /** The held login's access when it has this guild; else the Cache (and perhaps a login). */
    const guild = (agentId: string, guildNodeId: string): Effect.Effect<GuildAccess, SessionError> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const current = held.get(agentId)
        if (current !== undefined && now < current.until) {
          const access = guildAccess(current.session, guildNodeId)
          if (Option.isSome(access)) return Effect.succeed(access.value)
        }
        return lookUpGuild(agentId, guildNodeId)
      })

    const warmAgent = (agentId: string) =>
      profile.identities.get(agentId)?.enabled === true
        ? cache.get(agentId).pipe(
          Effect.asVoid,
          Effect.catchAll((error) => Effect.logWarning(`Fabric login of agent ${agentId} failed: ${error.message}`))
        )
        : Effect.logWarning(`${noIdentity(profile, agentId).message}; until then its bound channels stay silent`)

    /** Logs in every agent that has bindings; a problem is a warning, never a failure. */
    const warm: Effect.Effect<void> = Effect.suspend(() =>
      Effect.forEach(new Set(profile.bindings.map((binding) => binding.agentId)), warmAgent, {
        concurrency: "unbounded",
        discard: true
      })
    ).pipe(Effect.withSpan("Sessions.warm"), Effect.annotateLogs({ service: "Sessions" }))

    return { get, guild, invalidate, warm, policy } as const
  })
}) {}

/** Sessions, and Sessions as the Fabric wire's source of guild tokens (FabricApi needs it). */
export const SessionsLive = Layer.effect(
  GuildAccessSource,
  Effect.map(Sessions, ({ guild, invalidate, policy }) => ({ guild, invalidate, policy }))
).pipe(Layer.provideMerge(Sessions.Default))
