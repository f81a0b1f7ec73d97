/**
 * Where a tool acts: the binding named by `channel_name` (the agent and the guild) and, for the
 * tools that act on one channel, the Fabric channel — explicit, from a session, or the
 * binding's own. The decisions themselves are the pure rules of profile/Routing.ts.
 */
import { Effect, Either, Option } from "effect"
import type { GuildRef } from "../fabric/FabricApi.js"
import { channelIdOfSession, sessionIdOf } from "../SessionId.js"
import { ActiveProfile, type Binding } from "../profile/ProfileSchema.js"
import { outboundBinding, routeOutbound, sessionChannel, type OutboundTarget, type UnboundChannel } from "../profile/Routing.js"
import { annotateSpan, Attr } from "../telemetry/Spans.js"
import { type FailureContext, orExplain } from "./FabricFailure.js"
import { Membership } from "./Membership.js"
import { fail, type ToolFailure } from "./Tool.js"

export const guildOf = (binding: Binding): GuildRef => ({ agentId: binding.agentId, guildNodeId: binding.guildNodeId })

const unbound = (error: UnboundChannel): ToolFailure =>
  fail(
    error.known.length === 0
      ? `channel '${error.channelName}' is not bound; this profile has no Fabric channel bindings. Add a binding with plexum-fabric-bind`
      : `channel '${error.channelName}' is not bound; bound channels: ${error.known.join(", ")}. Add a binding with plexum-fabric-bind`
  )

/** Ids on the `tool.<name>` span; never message text. */
export const annotate = (binding: Binding, channelId?: string) =>
  annotateSpan({
    [Attr.agent]: binding.agentId,
    [Attr.guild]: binding.guildNodeId,
    ...(channelId === undefined ? {} : { [Attr.channel]: channelId })
  })

/** The error context of a call on `target`, with tool-specific lines. */
export const about = (
  target: { readonly binding: Binding; readonly channelId?: string | undefined },
  lines: Omit<FailureContext, "agentId" | "guildNodeId" | "channelId"> = {}
): FailureContext => ({
  agentId: target.binding.agentId,
  guildNodeId: target.binding.guildNodeId,
  channelId: target.channelId,
  ...lines
})

/** The binding named by `channel_name`. */
export const bindingFor = (channelName: string): Effect.Effect<Binding, ToolFailure, ActiveProfile> =>
  Effect.flatMap(ActiveProfile, (profile) =>
    Either.match(outboundBinding(profile.bindings, channelName), {
      onLeft: (error) => Effect.fail(unbound(error)),
      onRight: (binding) => Effect.as(annotate(binding), binding)
    }))

/** Fields of `Args.ChannelTarget`. */
export interface ChannelChoice {
  readonly channel_id?: string
  readonly session_id?: string
}

/** The channel a tool acts on: `channel_id`, else the channel of `session_id`, else the binding's. */
export const chosenChannel = (binding: Binding, choice: ChannelChoice): Either.Either<string, ToolFailure> => {
  const fromSession = choice.session_id === undefined ? undefined : channelIdOfSession(choice.session_id)
  if (choice.session_id !== undefined && fromSession === undefined) {
    return Either.left(fail(`session_id '${choice.session_id}' is not a Fabric session (s_fab_<channel id>); pass channel_id instead`))
  }
  if (choice.channel_id !== undefined && fromSession !== undefined && choice.channel_id !== fromSession) {
    return Either.left(fail(`channel_id ${choice.channel_id} and session_id ${choice.session_id} name different channels; pass only one`))
  }
  return Either.right(choice.channel_id ?? fromSession ?? binding.channelId)
}

export interface ChannelTarget {
  readonly binding: Binding
  readonly guild: GuildRef
  readonly channelId: string
}

/** The binding and the channel a channel-scoped tool acts on. */
export const channelTarget = (input: ChannelChoice & { readonly channel_name: string }) =>
  Effect.gen(function*() {
    const binding = yield* bindingFor(input.channel_name)
    const channelId = yield* chosenChannel(binding, input)
    yield* annotate(binding, channelId)
    return { binding, guild: guildOf(binding), channelId } satisfies ChannelTarget
  })

/**
 * `send` routing (profile.md): to the session's channel when the agent is a member of it in the
 * binding's guild, else to the binding's channel. A session id that is not a Fabric one simply
 * does not route.
 */
export const replyTarget = (channelName: string, sessionId: string | undefined) =>
  Effect.gen(function*() {
    const profile = yield* ActiveProfile
    const binding = yield* bindingFor(channelName)
    const candidate = sessionChannel(binding, sessionId)
    const member = candidate !== undefined && (yield* (yield* Membership).isMember(guildOf(binding), candidate).pipe(
      orExplain(about({ binding, channelId: candidate }))
    ))
    const target: OutboundTarget = yield* Either.mapLeft(
      routeOutbound(profile.bindings, channelName, sessionId, (channelId) => member && channelId === candidate),
      unbound
    )
    yield* annotate(target.binding, target.channelId)
    return { binding: target.binding, guild: guildOf(target.binding), channelId: target.channelId } satisfies ChannelTarget
  })

/** `#general (c_1)` when the agent's channel list knows the name, else the id. Cosmetic: never fails. */
export const channelLabel = (guild: GuildRef, channelId: string) =>
  Effect.flatMap(Membership, (membership) => membership.channel(guild, channelId)).pipe(
    Effect.map(Option.match({ onNone: () => channelId, onSome: (channel) => `#${channel.name} (${channelId})` })),
    Effect.orElseSucceed(() => channelId)
  )

/** How an agent addresses a channel with `send`, stated in results that create or find one. */
export const sendHint = (channelId: string) => `send to it with session_id ${sessionIdOf(channelId)}`

/** A Fabric object as a tool returns it, with the session_id that addresses its channel. */
export const withSessionId = <A extends { readonly id: string }>(channel: A) => ({
  ...channel,
  session_id: sessionIdOf(channel.id)
})
