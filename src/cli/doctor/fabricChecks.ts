/**
 * The doctor's checks against Fabric, for a profile that loads: each enabled agent logs in,
 * each binding's guild is open to its agent, its channel exists with the agent as a member, and
 * each (agent, guild) accepts a socket.io handshake. Every check turns its failure into a line
 * with a fix; none of them fails the doctor itself.
 */
import { Duration, Effect, Option } from "effect"
import { CenterApi } from "../../fabric/CenterApi.js"
import { FabricApi, type FabricCallError } from "../../fabric/FabricApi.js"
import type { ChannelXType, Session } from "../../fabric/FabricContract.js"
import { GuildSocket, type SocketClosed } from "../../fabric/GuildSocket.js"
import type { Binding, Identity, LoadedProfile } from "../../profile/ProfileSchema.js"
import { type CheckResult, fail, pass } from "./Check.js"
import { CONFIG_FILE } from "../../profile/ProfileSchema.js"
import { registerHint } from "./profileChecks.js"

/** A check that gets no answer in this time fails: the doctor must not hang on a silent network. */
export const CHECK_TIMEOUT = Duration.seconds(20)

const timedOut = (what: string) => () => ({ _tag: "Timeout" as const, message: `${what}: no answer within ${Duration.format(CHECK_TIMEOUT)}` })

export interface LoginFacts {
  readonly result: CheckResult
  readonly session: Option.Option<Session>
}

export const checkLogin = Effect.fn("doctor.checkLogin")(function*(profile: LoadedProfile, identity: Identity) {
  const center = yield* CenterApi
  const id = `login:${identity.agentId}`
  const title = `login of agent ${identity.agentId}`
  const base = profile.config.center_api_base
  return yield* center.login(base, identity.apiKey).pipe(
    Effect.timeoutFail({ duration: CHECK_TIMEOUT, onTimeout: timedOut(`center ${base}`) }),
    Effect.map((session): LoginFacts => ({
      result: pass(
        id,
        title,
        `Fabric user ${session.user.id} (${session.user.display_name}), ${session.guild_access_tokens.length} guild token(s)`
      ),
      session: Option.some(session)
    })),
    Effect.catchAll((error): Effect.Effect<LoginFacts> =>
      Effect.succeed({
        result: error._tag === "FabricError" && error.reason === "unauthorized"
          ? fail(id, title, `the center refused the API key of agent ${identity.agentId}`, `register a valid key: ${registerHint(profile.root, identity.agentId)}`)
          : error._tag === "FabricError" && error.reason !== "unavailable"
          ? fail(id, title, error.message, `check that ${base} is a Fabric center API (center_api_base in ${CONFIG_FILE})`)
          : fail(id, title, `the center at ${base} does not answer: ${error.message}`, `start Fabric, or set center_api_base in ${profile.root}/${CONFIG_FILE}`),
        session: Option.none()
      }))
  )
})

/** Pure: the session lists the binding's guild and carries a token for it. */
export const checkGuildAccess = (binding: Binding, session: Session): CheckResult => {
  const id = `guild:${binding.name}`
  const title = `guild ${binding.guildNodeId} (binding ${binding.name})`
  const listed = session.guilds.some((g) => g.node_id === binding.guildNodeId)
  const token = session.guild_access_tokens.some((t) => t.guild_node_id === binding.guildNodeId)
  if (listed && token) return pass(id, title, `agent ${binding.agentId} has a guild token`)
  return fail(
    id,
    title,
    listed
      ? `agent ${binding.agentId} is listed in guild ${binding.guildNodeId} but has no access token for it`
      : `agent ${binding.agentId} is not in guild ${binding.guildNodeId} (its guilds: ${session.guilds.map((g) => g.node_id).join(", ") || "none"})`,
    `add the agent to guild ${binding.guildNodeId} in Fabric, or correct fabric_guild_node_id in ${binding.file}`
  )
}

const channelFailure = (binding: Binding, userId: string, error: FabricCallError) => {
  const id = `channel:${binding.name}`
  const title = `channel ${binding.channelId} (binding ${binding.name})`
  if (error._tag === "FabricError" && error.reason === "not_found") {
    return fail(
      id,
      title,
      `guild ${binding.guildNodeId} has no channel ${binding.channelId}`,
      `correct fabric_channel_id in ${binding.file}, or create the channel in Fabric`
    )
  }
  // Fabric hides a channel's kind from a non-member: say nothing about joining it.
  if (error._tag === "FabricError" && error.reason === "forbidden") return notMember(binding, userId, undefined)
  return fail(id, title, error.message, `check that guild ${binding.guildNodeId} is up and reachable from this machine`)
}

/** Only a public channel can be joined by the agent itself; any other needs a member to add it. */
const notMember = (binding: Binding, userId: string, xType: ChannelXType | undefined) =>
  fail(
    `channel:${binding.name}`,
    `channel ${binding.channelId} (binding ${binding.name})`,
    `agent ${binding.agentId} (Fabric user ${userId}) is not a member of ${xType === undefined ? "" : `${xType} `}channel ${binding.channelId}`,
    xType === "public"
      ? `join the channel as agent ${binding.agentId} (its join_channel tool), or add Fabric user ${userId} to it in Fabric`
      : `ask a member of channel ${binding.channelId} to add Fabric user ${userId} to it in Fabric`
  )

export const checkChannel = Effect.fn("doctor.checkChannel")(function*(binding: Binding, userId: string) {
  const fabric = yield* FabricApi
  const ref = { agentId: binding.agentId, guildNodeId: binding.guildNodeId }
  return yield* Effect.gen(function*() {
    const channel = yield* fabric.getChannel(ref, binding.channelId)
    // A public channel is readable by non-members; membership is what the member list says.
    const member = channel.member_ids !== undefined
      ? channel.member_ids.includes(userId)
      : (yield* fabric.listChannels(ref)).some((c) => c.id === binding.channelId)
    return member
      ? pass(`channel:${binding.name}`, `channel ${binding.channelId} (binding ${binding.name})`, `${channel.x_type} channel "${channel.name}", agent is a member`)
      : notMember(binding, userId, channel.x_type)
  }).pipe(
    Effect.timeoutFail({ duration: CHECK_TIMEOUT, onTimeout: timedOut(`guild ${binding.guildNodeId}`) }),
    Effect.catchAll((error) =>
      Effect.succeed(
        error._tag === "Timeout"
          ? fail(`channel:${binding.name}`, `channel ${binding.channelId} (binding ${binding.name})`, error.message, `check that guild ${binding.guildNodeId} is up`)
          : channelFailure(binding, userId, error)
      ))
  )
})

const socketFix = (error: SocketClosed, endpoint: string) =>
  error.reason === "unauthorized"
    ? `the guild node refused a token the center just issued: check that the center and guild ${endpoint} share their signing key and that the clocks agree`
    : `check that the guild node at ${endpoint} is running and that any proxy in between passes WebSocket upgrades on /socket.io/`

export const socketId = (agentId: string, guildNodeId: string) => `socket:${agentId}@${guildNodeId}`
export const socketTitle = (agentId: string, guildNodeId: string) => `socket.io handshake of agent ${agentId} with guild ${guildNodeId}`

export const checkSocket = Effect.fn("doctor.checkSocket")(function*(agentId: string, guildNodeId: string, session: Session) {
  const sockets = yield* GuildSocket
  const id = socketId(agentId, guildNodeId)
  const title = socketTitle(agentId, guildNodeId)
  const guild = session.guilds.find((g) => g.node_id === guildNodeId)
  const token = session.guild_access_tokens.find((t) => t.guild_node_id === guildNodeId)
  if (guild === undefined || token === undefined) {
    return fail(id, title, `no endpoint or token for guild ${guildNodeId}`, `see the guild check above`)
  }
  // Connected is all we want to know: the scope closes the socket at once.
  return yield* Effect.scoped(sockets.connect(guild.endpoint, token.token)).pipe(
    Effect.as(pass(id, title, `${guild.endpoint} accepted the connection (websocket)`)),
    Effect.catchAll((error) => Effect.succeed(fail(id, title, error.message, socketFix(error, guild.endpoint))))
  )
})
