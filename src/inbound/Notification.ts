/**
 * The `notifications/plexum/channel/inbound` line for a message (host-protocol.md, Inbound and
 * v1.1 additions), encoded once, on the hot path: a plain object and one JSON.stringify.
 */
import type { Channel, Message } from "../fabric/FabricContract.js"
import { Methods, type Inbound } from "../host/HostProtocol.js"
import { sessionIdOf } from "../SessionId.js"
import { notificationLine } from "../host/JsonRpc.js"
import type { Binding } from "../profile/ProfileSchema.js"
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
  readonly merged?: MergedBurst<Message>
  /** Record-only messages since the agent's own last one, oldest first (`fabric.history`). */
  readonly history?: ReadonlyArray<Message>
  /** Found after newer messages of the channel were delivered (`fabric.late`). */
  readonly late?: boolean
  /** An edit made a message that had not been delivered pass the gate (`fabric.edited`). */
  readonly edited?: boolean
}

/** The notification for `message` (the newest of a burst when `extras.merged` is given). */
export const toInbound = (binding: Binding, recipient: Pick<Recipient, "agentId" | "guildNodeId">, channel: Channel, message: Message, extras: Extras = {}): Inbound => {
  // Built field by field, absent fields never set: this runs per delivered message.
  const fabric: { -readonly [K in keyof Inbound["fabric"]]: Inbound["fabric"][K] } = {
    agent_id: recipient.agentId,
    guild_node_id: recipient.guildNodeId,
    channel_id: message.channel_id,
    channel_x_type: channel.x_type,
    message_id: message.id,
    author_id: message.author_id,
    author_name: message.author_name,
    wakeup: message.wakeup,
    created_at: message.created_at
  }
  const { edited, history, late, merged } = extras
  const attachments = merged ? merged.attachments : message.attachments
  if (message.reply_to) fabric.reply_to = message.reply_to
  if (attachments && attachments.length > 0) fabric.attachments = attachments
  if (message.command) fabric.command = message.command
  if (history && history.length > 0) fabric.history = history
  if (merged?.coalesced_message_ids) fabric.coalesced_message_ids = merged.coalesced_message_ids
  if (edited) fabric.edited = true
  if (late) fabric.late = true
  return {
    channel_name: binding.name,
    message: merged ? merged.message : message.content,
    session_id: sessionIdOf(message.channel_id),
    fabric
  }
}

export const inboundLine = (inbound: Inbound): string => notificationLine(Methods.inbound, inbound)
