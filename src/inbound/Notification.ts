/**
 * The `notifications/plexum/channel/inbound` line for a message (host-protocol.md, Inbound and
 * v1.1 additions), written out as JSON text on the hot path: what every notification of a
 * channel shares is encoded once per channel (`inboundPrefix`), and each message adds its own
 * fields, every value through `JSON.stringify`, so the text is what stringifying the whole
 * object would give, in another key order (a test parses it against the `Inbound` schema).
 * One `JSON.stringify` of the whole notification object cost three times as much.
 */
import type { Channel, Message } from "../fabric/FabricContract.js"
import { Methods } from "../host/HostProtocol.js"
import type { Binding } from "../profile/ProfileSchema.js"
import { sessionIdOf } from "../SessionId.js"
import type { MergedBurst } from "./Coalescer.js"

/** Who receives: one agent in one guild, and its agent's Fabric user id there. */
export interface Recipient {
  readonly agentId: string
  readonly guildNodeId: string
  readonly userId: string
}

/** What v1.1 adds to a notification beyond the message itself (each absent when empty). */
export interface Extras {
  /** A coalesced burst: the contents joined, all attachments, the earlier ids (Coalescer.mergeBurst). */
  readonly merged?: MergedBurst<Message> | undefined
  /** Record-only messages since the agent's own last one, oldest first (`fabric.history`). */
  readonly history?: ReadonlyArray<Message> | undefined
  /** Found after newer messages of the channel were delivered (`fabric.late`). */
  readonly late?: boolean
  /** An edit made a message that had not been delivered pass the gate (`fabric.edited`). */
  readonly edited?: boolean
}

const json = JSON.stringify

/**
 * The start of every notification line of `channel` for the agent of `recipient`, routed by
 * `binding`: up to the `fabric` block's per-message fields. Made again when the channel changes.
 */
export const inboundPrefix = (binding: Binding, recipient: Pick<Recipient, "agentId" | "guildNodeId">, channel: Channel): string =>
  `{"jsonrpc":"2.0","method":${json(Methods.inbound)},"params":{"channel_name":${json(binding.name)},` +
  `"session_id":${json(sessionIdOf(channel.id))},"fabric":{"agent_id":${json(recipient.agentId)},` +
  `"guild_node_id":${json(recipient.guildNodeId)},"channel_id":${json(channel.id)},"channel_x_type":${json(channel.x_type)}`

/**
 * The whole line (newline-terminated) for `message`, after its channel's `prefix`: the newest
 * message of a burst when `extras.merged` is given. Absent fields are never written.
 */
export const inboundLine = (prefix: string, message: Message, extras: Extras = {}): string => {
  const { edited, history, late, merged } = extras
  const attachments = merged ? merged.attachments : message.attachments
  let line = `${prefix},"message_id":${json(message.id)},"author_id":${json(message.author_id)},` +
    `"author_name":${json(message.author_name)},"wakeup":${message.wakeup},"created_at":${json(message.created_at)}`
  if (message.reply_to) line += `,"reply_to":${json(message.reply_to)}`
  if (attachments && attachments.length > 0) line += `,"attachments":${json(attachments)}`
  if (message.command) line += `,"command":${json(message.command)}`
  if (history && history.length > 0) line += `,"history":${json(history)}`
  if (merged?.coalesced_message_ids) line += `,"coalesced_message_ids":${json(merged.coalesced_message_ids)}`
  if (edited) line += `,"edited":true`
  if (late) line += `,"late":true`
  return `${line}},"message":${json(merged ? merged.message : message.content)}}}\n`
}
