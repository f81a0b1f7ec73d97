/**
 * The channel family: what the agent can see and join in the binding's guild, direct messages,
 * and the history of a channel.
 */
import { Effect, Schema } from "effect"
import { FabricApi } from "../fabric/FabricApi.js"
import * as Args from "./Args.js"
import { orExplain } from "./FabricFailure.js"
import { Membership } from "./Membership.js"
import { about, bindingFor, channelTarget, guildOf, sendHint, withSessionId } from "./Target.js"
import { defineTool, json } from "./Tool.js"

export const listChannels = defineTool({
  name: "list_channels",
  description: "List the Fabric channels the agent is a member of in the binding's guild (DMs and sub-discussions " +
    "included), each with the session_id that addresses it. Returns JSON {guild_node_id, channels: [Channel]}.",
  input: Schema.Struct({ channel_name: Args.channelName }),
  run: (input) =>
    Effect.gen(function*() {
      const binding = yield* bindingFor(input.channel_name)
      const channels = yield* (yield* Membership).channels(guildOf(binding)).pipe(orExplain(about({ binding })))
      return json({ guild_node_id: binding.guildNodeId, channels: channels.map(withSessionId) })
    })
})

export const getChannel = defineTool({
  name: "get_channel",
  description: "Describe one Fabric channel and its members (id, display_name, kind user|agent). " +
    "Returns JSON {channel: Channel, members: [Member]}.",
  input: Schema.Struct(Args.ChannelTarget),
  run: (input) =>
    Effect.gen(function*() {
      const target = yield* channelTarget(input)
      const fabric = yield* FabricApi
      const [channel, members] = yield* Effect.all([
        fabric.getChannel(target.guild, target.channelId),
        fabric.listMembers(target.guild, target.channelId)
      ], { concurrency: 2 }).pipe(orExplain(about(target)))
      return json({ channel: withSessionId(channel), members })
    })
})

export const createChannel = defineTool({
  name: "create_channel",
  description: "Create a Fabric channel in the binding's guild; the agent becomes a member. " +
    "x_type: group (invited members), public (anyone may join), private.",
  input: Schema.Struct({
    channel_name: Args.channelName,
    name: Args.Id("The new channel's name."),
    x_type: Schema.optionalWith(Schema.Literal("group", "public", "private"), { exact: true, default: () => "group" as const })
      .annotations({ description: "group | public | private. Default: group." }),
    member_ids: Schema.optionalWith(Args.UserIds("Fabric user ids to add besides the agent. Default: none."), {
      exact: true,
      default: () => []
    })
  }),
  run: (input) =>
    Effect.gen(function*() {
      const binding = yield* bindingFor(input.channel_name)
      const guild = guildOf(binding)
      const channel = yield* (yield* FabricApi).createChannel(guild, {
        name: input.name,
        x_type: input.x_type,
        member_ids: input.member_ids
      }).pipe(orExplain(about({ binding })))
      yield* (yield* Membership).invalidate(guild)
      return `created #${channel.name} (${channel.id}, ${channel.x_type}); ${sendHint(channel.id)}`
    })
})

export const joinChannel = defineTool({
  name: "join_channel",
  description: "Join a public Fabric channel of the binding's guild. Other channels need an invitation from a member.",
  input: Schema.Struct({ channel_name: Args.channelName, channel_id: Args.Id("The Fabric channel id (c_…) to join.") }),
  run: (input) =>
    Effect.gen(function*() {
      const target = yield* channelTarget(input)
      const channel = yield* (yield* FabricApi).joinChannel(target.guild, target.channelId).pipe(orExplain(about(target, {
        forbidden: `${target.channelId} is not a public channel, so it cannot be joined; ask one of its members to invite the agent`
      })))
      yield* (yield* Membership).invalidate(target.guild)
      return `joined #${channel.name} (${channel.id}); ${sendHint(channel.id)}`
    })
})

export const leaveChannel = defineTool({
  name: "leave_channel",
  description: "Leave a Fabric channel of the binding's guild. The agent no longer receives its messages.",
  input: Schema.Struct({ channel_name: Args.channelName, channel_id: Args.Id("The Fabric channel id (c_…) to leave.") }),
  run: (input) =>
    Effect.gen(function*() {
      const target = yield* channelTarget(input)
      yield* (yield* FabricApi).leaveChannel(target.guild, target.channelId).pipe(orExplain(about(target)))
      yield* (yield* Membership).invalidate(target.guild)
      return `left ${target.channelId}` +
        (target.channelId === target.binding.channelId
          ? `; it is the channel of binding '${target.binding.name}', which receives nothing until the agent is a member again`
          : "")
    })
})

export const openDm = defineTool({
  name: "open_dm",
  description: "Open (or find) the direct-message channel between the agent and a Fabric user of the binding's guild. " +
    "Returns its channel id and the session_id to send to it.",
  input: Schema.Struct({ channel_name: Args.channelName, user_id: Args.Id("The Fabric user id (u_…) to talk to.") }),
  run: (input) =>
    Effect.gen(function*() {
      const binding = yield* bindingFor(input.channel_name)
      const guild = guildOf(binding)
      const channel = yield* (yield* FabricApi).openDm(guild, input.user_id).pipe(orExplain(about({ binding }, {
        notFound: `user ${input.user_id} was not found in guild ${binding.guildNodeId}; get_channel lists the members of a channel`
      })))
      yield* (yield* Membership).invalidate(guild)
      return `the DM with ${input.user_id} is ${channel.id}; ${sendHint(channel.id)}`
    })
})

export const readMessages = defineTool({
  name: "read_messages",
  description: "Read the history of a Fabric channel, oldest first: the newest `limit` messages, or a page before/after " +
    "a message id. Returns JSON {channel_id, messages: [Message], has_more}.",
  input: Schema.Struct({
    ...Args.ChannelTarget,
    limit: Args.historyLimit,
    before: Args.optional(Args.Id("Only messages older than this message id.")),
    after: Args.optional(Args.Id("Only messages newer than this message id."))
  }),
  run: (input) =>
    Effect.gen(function*() {
      const target = yield* channelTarget(input)
      const page = yield* (yield* FabricApi).listMessages(target.guild, target.channelId, {
        ...(input.limit === undefined ? {} : { limit: input.limit }),
        ...(input.before === undefined ? {} : { before: input.before }),
        ...(input.after === undefined ? {} : { after: input.after })
      }).pipe(orExplain(about(target)))
      return json({ channel_id: target.channelId, messages: page.messages, has_more: page.has_more })
    })
})

export const channelTools = [listChannels, getChannel, createChannel, joinChannel, leaveChannel, openDm, readMessages] as const
