/**
 * The inbound decisions, as plain synchronous functions over a batch of events: decode, channel
 * lookup, self filter, wake gate, dedup, routing and the encoding of the notification line. They
 * read and move plain per-channel state and fill a `Batch`; the caller hands the batch on with
 * one Effect. Nothing here allocates an Effect, a span or a metric per message.
 */
import { Either } from "effect"
import type { Channel, Message } from "../fabric/FabricContract.js"
import type { SocketEvent } from "../fabric/GuildSocket.js"
import type { Binding } from "../profile/ProfileSchema.js"
import { routeInbound } from "../profile/Routing.js"
import type { Batch } from "./Batch.js"
import type { ChannelState } from "./ChannelState.js"
import type { AgentMemory } from "./Dedup.js"
import { memoryKey } from "./Dedup.js"
import { decodeEvent } from "./InboundEvent.js"
import { inboundLine, type Recipient, toInbound } from "./Notification.js"
import { isOwnMessage, wakes } from "./WakeGate.js"

/** What the decisions need of one socket session. */
export interface SessionView {
  readonly recipient: Recipient
  readonly bindings: ReadonlyArray<Binding>
  readonly memory: AgentMemory
  /** The channel, when the session's directory knows it. */
  readonly channel: (channelId: string) => Channel | undefined
  readonly joined: (channel: Channel) => void
  readonly left: (channelId: string) => void
  /** The channel's state, made on first use. */
  readonly stateOf: (channel: Channel) => ChannelState
}

const routeOf = (view: SessionView, state: ChannelState): Binding | null => {
  if (state.route === undefined) {
    state.route = routeInbound(view.bindings, view.recipient.agentId, view.recipient.guildNodeId, state.channelId) ?? null
  }
  return state.route
}

/**
 * One `message.created` (live, caught up, or found late by a continuity check) for the session's
 * agent. Every message ends delivered or dropped with its reason.
 */
export const decideMessage = (
  view: SessionView,
  state: ChannelState,
  channel: Channel,
  message: Message,
  batch: Batch
): void => {
  batch.received += 1
  const key = memoryKey(view.recipient.guildNodeId, message.id)
  if (!view.memory.seen.add(key)) return batch.drop("duplicate", message.id)
  // A late message is older than the cursor: the cursor stays where socket order put it.
  if (batch.source !== "late") state.handle(message.id)
  batch.touched.add(state)
  if (isOwnMessage(message.author_id, view.recipient.userId)) return batch.drop("self", message.id)
  if (!wakes(channel.x_type, message.wakeup)) return batch.drop("gated", message.id)
  const binding = routeOf(view, state)
  if (binding === null) {
    batch.problem(
      `Messages in guild ${view.recipient.guildNodeId} were not delivered: agent ${view.recipient.agentId} has no ` +
        `channel binding for that guild. Add a file under channels/ that binds the agent to the guild.`
    )
    return batch.drop("unrouted", message.id)
  }
  view.memory.delivered.add(key)
  const inbound = toInbound(binding, view.recipient, channel, message, batch.source === "late" ? { late: true } : {})
  batch.deliver(inboundLine(inbound), state, [message.id])
}

/**
 * A message a catch-up reads past its cap: handled (the cursor moves past it) but not delivered.
 * True when it would have woken the agent, so the warning can say exactly how many did.
 */
export const skipMessage = (
  view: SessionView,
  state: ChannelState,
  channel: Channel,
  message: Message,
  batch: Batch
): boolean => {
  batch.received += 1
  if (!view.memory.seen.add(memoryKey(view.recipient.guildNodeId, message.id))) {
    batch.drop("duplicate", message.id)
    return false
  }
  state.handle(message.id)
  batch.touched.add(state)
  const waking = !isOwnMessage(message.author_id, view.recipient.userId) && wakes(channel.x_type, message.wakeup)
  batch.drop(waking ? "catchup_cap" : "gated", message.id)
  return waking
}

/**
 * Decides `events` from index `from` on, in socket order, into `batch`. Stops at the first
 * message of a channel the session does not know (it needs a re-sync, which is I/O) and returns
 * its index; returns `events.length` when the batch was decided whole.
 */
export const decideEvents = (view: SessionView, events: ReadonlyArray<SocketEvent>, from: number, batch: Batch): number => {
  for (let i = from; i < events.length; i++) {
    const raw = events[i]!
    const decoded = decodeEvent(raw.name, raw.payload)
    if (Either.isLeft(decoded)) {
      batch.problem(
        `Dropped a "${decoded.left.event}" event from guild ${view.recipient.guildNodeId} (agent ${view.recipient.agentId}): ` +
          `${decoded.left.problem}. The guild node does not speak the Fabric contract this plugin expects; check its version.`
      )
      batch.drop("malformed", "")
      continue
    }
    const event = decoded.right
    switch (event._tag) {
      case "MessageCreated": {
        const channel = view.channel(event.message.channel_id)
        if (channel === undefined) {
          batch.unknownChannel = event.message.channel_id
          return i
        }
        decideMessage(view, view.stateOf(channel), channel, event.message, batch)
        break
      }
      case "ChannelJoined":
        view.joined(event.channel)
        break
      case "ChannelLeft":
        view.left(event.channelId)
        break
      // An edit is not a new turn for the agent; presence does not concern inbound delivery.
      case "MessageUpdated":
      case "PresenceUpdated":
      case "TypingStarted":
        break
    }
  }
  return events.length
}
