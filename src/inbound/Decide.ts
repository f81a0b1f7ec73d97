/**
 * The inbound decisions, as plain synchronous functions over a batch of events: decode, channel
 * lookup, self filter, wake policy, wake gate, dedup, routing, the agent-loop guard, history,
 * coalescing and the encoding of the notification line. They read and move plain per-channel
 * state and fill a `Batch`; the caller hands the batch on with one Effect. Nothing here
 * allocates an Effect, a span or a metric per message.
 */
import type { Channel, Message } from "../fabric/FabricContract.js"
import type { SocketEvent } from "../fabric/GuildSocket.js"
import type { Binding } from "../profile/ProfileSchema.js"
import { routeInbound } from "../profile/Routing.js"
import type { Batch } from "./Batch.js"
import type { ChannelState } from "./ChannelState.js"
import { type Burst, catchUpBursts, mergeBurst } from "./Coalescer.js"
import type { ScopedIds } from "./IdRing.js"
import { decodeEvent } from "./InboundEvent.js"
import { type Extras, inboundLine, inboundPrefix, type Recipient } from "./Notification.js"
import { type AgentLoopGuard, isAgentAuthor, type OncePer, pairKey, type Refusal, type WakeAdmission } from "./WakeAdmission.js"
import { isOwnMessage, wakes } from "./WakeGate.js"

/** What the decisions need of one socket session. */
export interface SessionView {
  readonly recipient: Recipient
  readonly bindings: ReadonlyArray<Binding>
  readonly memory: ScopedIds
  readonly admission: WakeAdmission
  readonly loopGuard: AgentLoopGuard
  readonly refusalInfo: OncePer
  readonly loopWarning: OncePer
  /** Fabric users of the agents this plugin runs. */
  readonly agentUsers: ReadonlySet<string>
  /** The channel, when the session's directory knows it. */
  readonly channel: (channelId: string) => Channel | undefined
  readonly joined: (channel: Channel) => void
  readonly left: (channelId: string) => void
  /** The channel's state, made on first use. */
  readonly stateOf: (channel: Channel) => ChannelState
  /** Channels whose coalescer holds a pending burst: the session wakes up when the first is due. */
  readonly pending: Set<ChannelState>
}

const routeOf = (bindings: ReadonlyArray<Binding>, state: ChannelState): Binding | null => {
  if (state.route === undefined) state.route = routeInbound(bindings, state.agentId, state.guildNodeId, state.channelId) ?? null
  return state.route
}

/**
 * One notification for `burst` (oldest first; usually one message), carrying the history
 * recorded before its newest message; `flag` marks a message found late or made waking by an edit.
 */
const deliverBurst = (
  state: ChannelState,
  burst: Burst<Message>,
  seq: number,
  batch: Batch,
  flag?: "late" | "edited"
): void => {
  const binding = state.route
  if (binding == null) return
  const newest = burst[burst.length - 1]!
  const extras: Extras = {
    merged: burst.length > 1 ? mergeBurst(burst) : undefined,
    history: state.history.takeBefore(seq),
    late: flag === "late",
    edited: flag === "edited"
  }
  state.linePrefix ??= inboundPrefix(binding, state, state.channel)
  batch.deliver(inboundLine(state.linePrefix, newest, extras), state, burst)
}

/** Bursts the coalescer released: each with the history before its newest message. */
const deliverReleased = (state: ChannelState, bursts: ReadonlyArray<Burst<Message>>, batch: Batch): void => {
  for (const burst of bursts) {
    const newest = burst[burst.length - 1]!
    const seq = state.pendingSeq.get(newest.id) ?? state.seq + 1
    for (const message of burst) state.pendingSeq.delete(message.id)
    deliverBurst(state, burst, seq, batch)
  }
}

/** Releases the bursts due at `batch.nowMs` in the session's pending channels. */
export const releaseDue = (view: SessionView, batch: Batch): void => {
  for (const state of view.pending) {
    deliverReleased(state, state.coalescer.due(batch.nowMs), batch)
    if (state.coalescer.size === 0) view.pending.delete(state)
  }
}

/** Every pending burst of `state`, now (before a catch-up of its channel, or at a stop). */
export const releaseAll = (state: ChannelState, batch: Batch): void => deliverReleased(state, state.coalescer.flushAll(), batch)

/** The earliest instant a pending burst of the session is due, if any. */
export const nextDue = (view: SessionView): number | undefined => {
  let next: number | undefined
  for (const state of view.pending) {
    const at = state.coalescer.nextDeadline()
    if (at !== undefined && (next === undefined || at < next)) next = at
  }
  return next
}

const refuse = (view: SessionView, refusal: Refusal, message: Message, batch: Batch): void => {
  batch.drop(refusal.reason, message.id)
  const { agentId } = view.recipient
  if (refusal.reason === "agent_loop") {
    if (view.loopWarning.take(pairKey(message.author_id, agentId), batch.nowMs)) {
      batch.problem(
        `Agent ${message.author_name} (${message.author_id}) woke agent ${agentId} more than ` +
          `${view.admission.policy.agentLoopLimit} times in 60 s: further messages from it are dropped until the rate ` +
          `falls (agent_loop_limit). If the two agents are meant to talk this much, raise ${refusal.setting}.`
      )
    }
  } else if (view.refusalInfo.take(`${agentId}\u0000${message.author_id}`, batch.nowMs)) {
    batch.notes.push(
      `Messages from ${message.author_name} (${message.author_id}) to agent ${agentId} are not delivered: the wake ` +
        `policy refuses them. To admit them, set ${refusal.setting} in config.json.`
    )
  }
}

/**
 * One `message.created` (live, caught up, or found late by a continuity check) for the session's
 * agent. Every message ends delivered, pending in a burst, or dropped with its reason.
 */
export const decideMessage = (
  view: SessionView,
  state: ChannelState,
  channel: Channel,
  message: Message,
  batch: Batch
): void => {
  batch.received += 1
  if (!view.memory.add(message.id)) return batch.drop("duplicate", message.id)
  const late = batch.source === "late"
  // A late message is older than the cursor: the cursor stays where socket order put it.
  if (!late) state.handle(message.id)
  batch.touched.add(state)
  if (isOwnMessage(message.author_id, view.recipient.userId)) {
    state.history.clear()
    return batch.drop("self", message.id)
  }
  const seq = ++state.seq
  const refusal = view.admission.refusal(channel.x_type, message.author_id)
  if (refusal !== undefined) return refuse(view, refusal, message, batch)
  if (!wakes(channel.x_type, message, view.recipient.userId)) {
    // A late one would land out of order in the history: it is only counted.
    if (!late) state.history.record(message, seq)
    return batch.drop("gated", message.id)
  }
  if (routeOf(view.bindings, state) === null) {
    batch.problem(
      `Messages in guild ${view.recipient.guildNodeId} were not delivered: agent ${view.recipient.agentId} has no ` +
        `channel binding for that guild. Add a file under channels/ that binds the agent to the guild.`
    )
    return batch.drop("unrouted", message.id)
  }
  if (
    isAgentAuthor(message, view.agentUsers) &&
    !view.loopGuard.admit(message.author_id, view.recipient.agentId, view.admission.policy.agentLoopLimit, batch.nowMs)
  ) {
    return refuse(view, view.admission.loopRefusal(), message, batch)
  }
  view.memory.addDelivered(message.id)
  if (late) return deliverBurst(state, [message], seq, batch, "late")
  if (state.coalescer.windowMs <= 0) return deliverBurst(state, [message], seq, batch)
  if (batch.source === "catchup" && state.coalescer.windowMs > 0) {
    // Catch-up runs are coalesced by created_at once the page is read (flushCaughtUp).
    state.pendingSeq.set(message.id, seq)
    batch.caughtUp.push(message)
    return
  }
  state.pendingSeq.set(message.id, seq)
  deliverReleased(state, state.coalescer.offer(message, batch.nowMs), batch)
  if (state.coalescer.size > 0) view.pending.add(state)
}

/** The waking messages of a catch-up page, coalesced by the same rule with `created_at` as time. */
export const flushCaughtUp = (state: ChannelState, batch: Batch): void => {
  if (batch.caughtUp.length === 0) return
  const { coalescer } = state
  deliverReleased(state, catchUpBursts(batch.caughtUp, coalescer.windowMs, coalescer.maxMessages), batch)
  batch.caughtUp.length = 0
}

/**
 * A `message.updated`: an edit that makes a message that was never delivered pass the gate and
 * the policy (a mention added) is delivered once, marked `edited`, with its new content; it
 * leaves the history buffer. Any other edit changes nothing.
 */
export const decideEdit = (view: SessionView, state: ChannelState, channel: Channel, message: Message, batch: Batch): void => {
  if (
    isOwnMessage(message.author_id, view.recipient.userId) ||
    view.memory.wasDelivered(message.id) ||
    !wakes(channel.x_type, message, view.recipient.userId) ||
    view.admission.refusal(channel.x_type, message.author_id) !== undefined ||
    routeOf(view.bindings, state) === null
  ) return
  batch.received += 1
  if (
    isAgentAuthor(message, view.agentUsers) &&
    !view.loopGuard.admit(message.author_id, view.recipient.agentId, view.admission.policy.agentLoopLimit, batch.nowMs)
  ) {
    return refuse(view, view.admission.loopRefusal(), message, batch)
  }
  view.memory.addDelivered(message.id)
  state.history.remove(message.id)
  // No history: what was recorded came after the original message.
  deliverBurst(state, [message], 0, batch, "edited")
}

/**
 * A message past a catch-up's cap: handled (the cursor moves past it) but not delivered. True
 * when it would have woken the agent, so the warning can say exactly how many did.
 */
export const skipMessage = (
  view: SessionView,
  state: ChannelState,
  channel: Channel,
  message: Message,
  batch: Batch
): boolean => {
  batch.received += 1
  if (!view.memory.add(message.id)) {
    batch.drop("duplicate", message.id)
    return false
  }
  state.handle(message.id)
  batch.touched.add(state)
  const waking = !isOwnMessage(message.author_id, view.recipient.userId) &&
    wakes(channel.x_type, message, view.recipient.userId) &&
    view.admission.refusal(channel.x_type, message.author_id) === undefined
  batch.drop(waking ? "catchup_cap" : "gated", message.id)
  return waking
}

/**
 * What a session puts in its own socket mailbox to wake up when a pending burst is due
 * (SocketSession): taken in order with the socket's events, nothing to decide.
 */
export const WAKE_UP: SocketEvent = { name: "plexum.wake_up", payload: undefined }

/**
 * Decides `events` from index `from` on, in socket order, into `batch`. Stops at the first
 * message of a channel the session does not know (it needs a re-sync, which is I/O) and returns
 * its index; returns `events.length` when the batch was decided whole.
 */
export const decideEvents = (view: SessionView, events: ReadonlyArray<SocketEvent>, from: number, batch: Batch): number => {
  for (let i = from; i < events.length; i++) {
    const raw = events[i]!
    if (raw === WAKE_UP) continue
    const event = decodeEvent(raw.name, raw.payload)
    if (event._tag === "Malformed") {
      batch.problem(
        `Dropped a "${event.event}" event from guild ${view.recipient.guildNodeId} (agent ${view.recipient.agentId}): ` +
          `${event.problem}. The guild node does not speak the Fabric contract this plugin expects; check its version.`
      )
      batch.drop("malformed", "")
      continue
    }
    switch (event._tag) {
      case "MessageCreated":
      case "MessageUpdated": {
        const channel = view.channel(event.message.channel_id)
        if (channel === undefined) {
          // An edit in a channel the agent is not known to be in is nothing to deliver.
          if (event._tag === "MessageUpdated") break
          batch.unknownChannel = event.message.channel_id
          return i
        }
        const state = view.stateOf(channel)
        if (event._tag === "MessageCreated") decideMessage(view, state, channel, event.message, batch)
        else decideEdit(view, state, channel, event.message, batch)
        break
      }
      case "ChannelJoined":
        view.joined(event.channel)
        break
      case "ChannelLeft":
        view.left(event.channelId)
        break
    }
  }
  return events.length
}
