/**
 * `send`: the outbound tool of every channel binding (the manifest's `outbound_tool`). Its
 * input is fixed by host-protocol.md; v1.1 lets it take any length: a message over Fabric's
 * limit is posted as chunks (Chunks.ts), at most `max_chunks` of them.
 */
import { Effect, Schema } from "effect"
import { FabricApi } from "../fabric/FabricApi.js"
import { MESSAGE_CONTENT_MAX } from "../fabric/FabricContract.js"
import { Typing } from "../presence/Typing.js"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import * as Args from "./Args.js"
import { chunkText, splitMessage } from "./Chunks.js"
import { type FailureContext, orExplain } from "./FabricFailure.js"
import { about, channelLabel, type ChannelTarget, replyTarget } from "./Target.js"
import { defineTool, fail } from "./Tool.js"

/** Any length (split by `send`), not empty. */
export const LongMessage = Schema.String.pipe(
  Schema.filter((text) => (text.length === 0 ? "must not be empty" : undefined), { jsonSchema: { minLength: 1 } })
)

export interface PostFields {
  readonly reply_to?: string | undefined
  readonly wakeup?: boolean | undefined
  readonly attachment_ids?: ReadonlyArray<string> | undefined
}

/**
 * Posts `content` in `target`'s channel, in chunks when it is over Fabric's limit: `fields`
 * (reply, wakeup, attachments) go with the first chunk only. Nothing is posted when it would
 * take more than `max_chunks`. Returns the new message ids, in order; tells Typing that the
 * agent answered there.
 */
export const postInChunks = (target: ChannelTarget, content: string, fields: PostFields, failure: FailureContext) =>
  Effect.gen(function*() {
    const { max_chunks: maxChunks } = (yield* ActiveProfile).config
    const chunks = splitMessage(content, MESSAGE_CONTENT_MAX)
    if (chunks.length > maxChunks) {
      return yield* fail(
        `the message is ${Array.from(content).length} characters, ${chunks.length} messages of at most ${MESSAGE_CONTENT_MAX}; ` +
          `max_chunks in the plugin config allows ${maxChunks}. Nothing was posted: shorten it, or send it in several calls`
      )
    }
    const fabric = yield* FabricApi
    const typing = yield* Typing
    const ids: Array<string> = []
    for (const [index, chunk] of chunks.entries()) {
      const first = index === 0
      const posted = yield* fabric.postMessage(target.guild, target.channelId, {
        content: chunkText(chunk),
        ...(first && fields.reply_to !== undefined ? { reply_to: fields.reply_to } : {}),
        ...(first && fields.wakeup !== undefined ? { wakeup: fields.wakeup } : {}),
        ...(first && fields.attachment_ids !== undefined ? { attachment_ids: fields.attachment_ids } : {})
      }).pipe(
        orExplain(failure),
        Effect.mapError((error) =>
          ids.length === 0
            ? error
            : fail(`posted ${ids.join(", ")} (${ids.length} of ${chunks.length} parts), then part ${index + 1} failed: ${error.message}`)
        )
      )
      ids.push(posted.id)
      if (first) yield* typing.posted(target.binding.agentId, target.channelId)
    }
    return ids
  })

/** `m_1` or `3 messages m_1, m_2, m_3`. */
export const describeIds = (ids: ReadonlyArray<string>) => (ids.length === 1 ? ids[0]! : `${ids.length} messages ${ids.join(", ")}`)

export const send = defineTool({
  name: "send",
  description: "Post a message in Fabric as the agent of a channel binding. Pass the session_id of the message you " +
    `answer so that the reply lands where the conversation is. A message over ${MESSAGE_CONTENT_MAX} characters is ` +
    "posted as several messages, cut at paragraph or line breaks, code blocks kept whole per part. Returns every new " +
    "Fabric message id, in order.",
  input: Schema.Struct({
    channel_name: Args.channelName,
    message: LongMessage.annotations({
      description: `The message text (Markdown). Over ${MESSAGE_CONTENT_MAX} characters it is split into several messages.`
    }),
    session_id: Args.replySessionId,
    reply_to: Args.replyTo,
    wakeup: Args.wakeup
  }),
  run: (input) =>
    Effect.gen(function*() {
      const target = yield* replyTarget(input.channel_name, input.session_id)
      const ids = yield* postInChunks(target, input.message, input, about(target, {
        notFound: `channel ${target.channelId} was not found in guild ${target.binding.guildNodeId}` +
          (input.reply_to === undefined ? "" : ` (or reply_to ${input.reply_to} is not a message there)`) +
          (target.channelId === target.binding.channelId
            ? `; check fabric_channel_id in ${target.binding.file}`
            : "; list_channels shows the agent's channels")
      }))
      return `sent ${describeIds(ids)} to ${yield* channelLabel(target.guild, target.channelId)}`
    })
})

export const sendTools = [send] as const
