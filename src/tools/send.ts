/**
 * `send`: the outbound tool of every channel binding (the manifest's `outbound_tool`). Its
 * input is fixed by host-protocol.md.
 */
import { Effect, Schema } from "effect"
import { FabricApi } from "../fabric/FabricApi.js"
import * as Args from "./Args.js"
import { orExplain } from "./FabricFailure.js"
import { about, channelLabel, replyTarget } from "./Target.js"
import { defineTool } from "./Tool.js"

const SendInput = Schema.Struct({
  channel_name: Args.channelName,
  message: Args.MessageContent.annotations({ description: "The message text, 1–4000 characters (Markdown)." }),
  session_id: Args.replySessionId,
  reply_to: Args.replyTo,
  wakeup: Args.wakeup
})

export const send = defineTool({
  name: "send",
  description: "Post a message in Fabric as the agent of a channel binding. Pass the session_id of the message you " +
    "answer so that the reply lands where the conversation is. Returns the new Fabric message id.",
  input: SendInput,
  run: (input) =>
    Effect.gen(function*() {
      const target = yield* replyTarget(input.channel_name, input.session_id)
      const fabric = yield* FabricApi
      const posted = yield* fabric.postMessage(target.guild, target.channelId, {
        content: input.message,
        ...(input.reply_to === undefined ? {} : { reply_to: input.reply_to }),
        ...(input.wakeup === undefined ? {} : { wakeup: input.wakeup })
      }).pipe(orExplain(about(target, {
        notFound: `channel ${target.channelId} was not found in guild ${target.binding.guildNodeId}` +
          (input.reply_to === undefined ? "" : ` (or reply_to ${input.reply_to} is not a message there)`) +
          (target.channelId === target.binding.channelId
            ? `; check fabric_channel_id in ${target.binding.file}`
            : "; list_channels shows the agent's channels")
      })))
      return `sent ${posted.id} to ${yield* channelLabel(target.guild, target.channelId)}`
    })
})

export const sendTools = [send] as const
