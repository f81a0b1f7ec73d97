/**
 * Input fields shared by the tools, with the descriptions a model reads in `tools/list`.
 * Optional fields are `exact`: JSON arguments never hold `undefined`, and an inexact optional
 * would add "expected undefined" noise to every error about the field.
 */
import { Schema } from "effect"
import { HISTORY_LIMIT_MAX, MESSAGE_CONTENT_MAX } from "../fabric/FabricContract.js"

const nonEmpty = (what: string) => Schema.String.pipe(Schema.minLength(1, { message: () => `${what} must not be empty` }))

export const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })

export const Id = (description: string) => nonEmpty("an id").annotations({ description })

export const channelName = nonEmpty("channel_name").annotations({
  description: "The Plexum channel name of a Fabric binding (the channel_name of an inbound message). " +
    "It picks the agent and the Fabric guild."
})

export const channelId = optional(Id(
  "A Fabric channel id (c_…) in the binding's guild. Default: the channel of session_id, else the binding's channel."
))

export const sessionId = optional(Id(
  "The session_id of an inbound message (s_fab_<channel id>): acts on that conversation's Fabric channel."
))

/** `send` routing (profile.md): the session's channel when the agent is a member, else the binding's. */
export const replySessionId = optional(Id(
  "The session_id of the inbound message you answer (s_fab_<channel id>). When the agent is a member of that " +
    "channel in the binding's guild, the message goes there (a DM, a sub-discussion…); otherwise to the binding's channel."
))

/** The fields of a tool that acts on one Fabric channel of the binding's guild. */
export const ChannelTarget = { channel_name: channelName, channel_id: channelId, session_id: sessionId }

/** Fabric counts characters (code points), as JSON Schema's `maxLength` does. */
const codePoints = (text: string) => Array.from(text).length

export const MessageContent = Schema.String.pipe(
  Schema.filter((text) => {
    const length = codePoints(text)
    return length === 0
      ? "must not be empty"
      : length > MESSAGE_CONTENT_MAX
      ? `is ${length} characters, Fabric allows ${MESSAGE_CONTENT_MAX}; split it into several messages`
      : undefined
  }, { jsonSchema: { minLength: 1, maxLength: MESSAGE_CONTENT_MAX } })
)

export const replyTo = optional(Id("A Fabric message id (m_…) this message answers."))

export const wakeup = optional(Schema.Boolean.annotations({
  description: "true wakes the other agents of the channel, as a mention would. Default: false."
}))

export const historyLimit = optional(
  Schema.Number.pipe(Schema.int(), Schema.between(1, HISTORY_LIMIT_MAX)).annotations({
    description: `How many messages, 1–${HISTORY_LIMIT_MAX}. Default: 50.`
  })
)

export const UserIds = (description: string) => Schema.Array(Id("A Fabric user id (u_…).")).annotations({ description })
