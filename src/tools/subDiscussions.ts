/**
 * The sub-discussion family: a side conversation opened from a channel, with its own Fabric
 * channel, closed with an optional summary.
 */
import { Effect, Schema } from "effect"
import { FabricApi } from "../fabric/FabricApi.js"
import { sessionIdOf } from "../SessionId.js"
import * as Args from "./Args.js"
import { orExplain } from "./FabricFailure.js"
import { Membership } from "./Membership.js"
import { about, bindingFor, channelTarget, guildOf, sendHint } from "./Target.js"
import { defineTool, json } from "./Tool.js"

export const listSubDiscussions = defineTool({
  name: "list_sub_discussions",
  description: "List the sub-discussions opened from a Fabric channel, open and closed, each with the session_id of " +
    "its own channel. Returns JSON {channel_id, sub_discussions: [SubDiscussion]}.",
  input: Schema.Struct(Args.ChannelTarget),
  run: (input) =>
    Effect.gen(function*() {
      const target = yield* channelTarget(input)
      const list = yield* (yield* FabricApi).listSubDiscussions(target.guild, target.channelId).pipe(orExplain(about(target)))
      return json({
        channel_id: target.channelId,
        sub_discussions: list.map((sub) => ({ ...sub, session_id: sessionIdOf(sub.channel_id) }))
      })
    })
})

export const createSubDiscussion = defineTool({
  name: "create_sub_discussion",
  description: "Open a sub-discussion from a Fabric channel: a new channel whose members are the agent and the " +
    "participants. Returns its id and the session_id to send to it.",
  input: Schema.Struct({
    ...Args.ChannelTarget,
    title: Args.Id("What the sub-discussion is about."),
    participant_ids: Schema.optionalWith(Args.UserIds("Fabric user ids to invite besides the agent. Default: none."), {
      exact: true,
      default: () => []
    }),
    anchor_message_id: Args.optional(Args.Id("The message (m_…) of the parent channel it starts from."))
  }),
  run: (input) =>
    Effect.gen(function*() {
      const target = yield* channelTarget(input)
      const sub = yield* (yield* FabricApi).createSubDiscussion(target.guild, target.channelId, {
        title: input.title,
        participant_ids: input.participant_ids,
        ...(input.anchor_message_id === undefined ? {} : { anchor_message_id: input.anchor_message_id })
      }).pipe(orExplain(about(target)))
      yield* (yield* Membership).invalidate(target.guild)
      return `opened sub-discussion ${sub.id} "${sub.title}" as channel ${sub.channel_id} under ${sub.parent_channel_id}; ` +
        sendHint(sub.channel_id)
    })
})

export const closeSubDiscussion = defineTool({
  name: "close_sub_discussion",
  description: "Close a sub-discussion, optionally with a summary for the parent channel.",
  input: Schema.Struct({
    channel_name: Args.channelName,
    sub_discussion_id: Args.Id("The sub-discussion id, from create_sub_discussion or list_sub_discussions."),
    summary: Args.optional(Schema.String.annotations({ description: "What was decided, for the parent channel." }))
  }),
  run: (input) =>
    Effect.gen(function*() {
      const binding = yield* bindingFor(input.channel_name)
      const sub = yield* (yield* FabricApi).closeSubDiscussion(
        guildOf(binding),
        input.sub_discussion_id,
        input.summary
      ).pipe(orExplain(about({ binding }, {
        notFound: `sub-discussion ${input.sub_discussion_id} was not found in guild ${binding.guildNodeId}; list_sub_discussions shows them`,
        forbidden: `the agent may not close sub-discussion ${input.sub_discussion_id}; ask its creator or a participant`
      })))
      return `closed sub-discussion ${sub.id} "${sub.title}"`
    })
})

export const subDiscussionTools = [listSubDiscussions, createSubDiscussion, closeSubDiscussion] as const
