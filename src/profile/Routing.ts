/**
 * Which binding a message belongs to (profile.md "Routing"). Pure decisions over the loaded
 * bindings, so the rules are tested without sockets or files.
 */
import { Either } from "effect"
import { channelIdOfSession } from "../SessionId.js"
import type { Binding } from "./ProfileSchema.js"

const byName = (a: Binding, b: Binding) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

/** The first binding by channel name, so the choice does not depend on file order. */
const firstByName = (candidates: ReadonlyArray<Binding>): Binding | undefined =>
  candidates.length === 0 ? undefined : [...candidates].sort(byName)[0]

/**
 * A message in Fabric channel `channelId` of guild `guildNodeId`, received for `agentId`: the
 * binding of that exact channel, else the agent's first binding in that guild (so DMs and
 * sub-discussions reach the agent through its guild binding), else none.
 */
export const routeInbound = (
  bindings: ReadonlyArray<Binding>,
  agentId: string,
  guildNodeId: string,
  channelId: string
): Binding | undefined =>
  firstByName(bindings.filter((b) => b.agentId === agentId && b.channelId === channelId)) ??
    firstByName(bindings.filter((b) => b.agentId === agentId && b.guildNodeId === guildNodeId))

/** Where `send` posts: the binding (agent and guild) and the Fabric channel. */
export interface OutboundTarget {
  readonly binding: Binding
  readonly channelId: string
}

/** `send` named a channel this plugin has no binding for. */
export interface UnboundChannel {
  readonly _tag: "UnboundChannel"
  readonly channelName: string
  /** The bound channel names, sorted, for the message. */
  readonly known: ReadonlyArray<string>
  /** One line: what is wrong and what to do. */
  readonly message: string
}

export const unboundChannel = (bindings: ReadonlyArray<Binding>, channelName: string): UnboundChannel => {
  const known = bindings.map((b) => b.name).sort()
  return {
    _tag: "UnboundChannel",
    channelName,
    known,
    message: known.length === 0
      ? `channel "${channelName}" is not bound: this profile has no Fabric channel bindings (add one with plexum-fabric-bind)`
      : `channel "${channelName}" is not bound; use one of: ${known.join(", ")}`
  }
}

/** The binding `send` names by `channel_name`. */
export const outboundBinding = (
  bindings: ReadonlyArray<Binding>,
  channelName: string
): Either.Either<Binding, UnboundChannel> => {
  const binding = bindings.find((b) => b.name === channelName)
  return binding === undefined ? Either.left(unboundChannel(bindings, channelName)) : Either.right(binding)
}

/**
 * The channel a session points at, when it is not the binding's own channel: the candidate
 * for a reply where the conversation is. The caller checks membership (it may need Fabric).
 */
export const sessionChannel = (binding: Binding, sessionId: string | undefined): string | undefined => {
  const channelId = sessionId === undefined ? undefined : channelIdOfSession(sessionId)
  return channelId === undefined || channelId === binding.channelId ? undefined : channelId
}

/**
 * `send` routing: the binding named by `channelName` picks the agent and the guild; the message
 * goes to the session's channel when the agent is a member of it there, else to the binding's
 * channel. `isMember` answers for the chosen binding's agent and guild.
 */
export const routeOutbound = (
  bindings: ReadonlyArray<Binding>,
  channelName: string,
  sessionId: string | undefined,
  isMember: (channelId: string, binding: Binding) => boolean
): Either.Either<OutboundTarget, UnboundChannel> =>
  Either.map(outboundBinding(bindings, channelName), (binding) => {
    const candidate = sessionChannel(binding, sessionId)
    return {
      binding,
      channelId: candidate !== undefined && isMember(candidate, binding) ? candidate : binding.channelId
    }
  })
