/**
 * The `notifications/plexum/channel/inbound` line for a message (host-protocol.md, Inbound and
 * v1.1 additions), encoded once, on the hot path: a plain object and one JSON.stringify.
 */
import type { Channel, Message } from "../fabric/FabricContract.js"
import { Methods, type Inbound, sessionIdOf } from "../host/HostProtocol.js"
import { notificationLine } from "../host/JsonRpc.js"
import type { Binding } from "../profile/ProfileSchema.js"

/** Who receives: one agent in one guild, and its own Fabric user id there. */
export interface Recipient {
  readonly agentId: string
  readonly guildNodeId: string
  readonly userId: string
}

/** What v1.1 adds to a notification beyond the message itself. */
export interface Extras {
  /** Found after newer messages of the channel were delivered (`fabric.late`). */
  readonly late?: boolean
}

export const toInbound = (binding: Binding, recipient: Recipient, channel: Channel, message: Message, extras: Extras = {}): Inbound => ({
  channel_name: binding.name,
  message: message.content,
  session_id: sessionIdOf(message.channel_id),
  fabric: {
    agent_id: recipient.agentId,
    guild_node_id: recipient.guildNodeId,
    channel_id: message.channel_id,
    channel_x_type: channel.x_type,
    message_id: message.id,
    author_id: message.author_id,
    author_name: message.author_name,
    wakeup: message.wakeup,
    created_at: message.created_at,
    ...(message.reply_to ? { reply_to: message.reply_to } : {}),
    ...(message.attachments && message.attachments.length > 0 ? { attachments: message.attachments } : {}),
    ...(message.command ? { command: message.command } : {}),
    ...(extras.late ? { late: true } : {})
  }
})

export const inboundLine = (inbound: Inbound): string => notificationLine(Methods.inbound, inbound)
