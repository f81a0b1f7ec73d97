/**
 * What happens to one Fabric message for one agent, whether it came live from the socket or
 * from a catch-up: self filter → wake gate → dedup → routing → the channel's serial queue →
 * `notifications/plexum/channel/inbound`. Every message ends either delivered or counted as
 * dropped with its reason.
 */
import { Clock, Effect, Exit, Metric, type Tracer } from "effect"
import type { Channel, Message } from "../fabric/FabricContract.js"
import { HostApi } from "../host/HostApi.js"
import { type Inbound, sessionIdOf } from "../host/HostProtocol.js"
import { Typing } from "../presence/Typing.js"
import { ActiveProfile, type Binding } from "../profile/ProfileSchema.js"
import { routeInbound } from "../profile/Routing.js"
import { messagesDelivered, messagesDropped, messagesReceived } from "../telemetry/Metrics.js"
import { Attr, currentSpanLink, InboundOutcome, type InboundSource, inboundRootOptions, SpanNames } from "../telemetry/Spans.js"
import { ChannelQueue, queueKey } from "./ChannelQueue.js"
import { Dedup } from "./Dedup.js"
import { isOwnMessage, wakes } from "./WakeGate.js"

/** Who receives: one agent in one guild, and its own Fabric user id there. */
export interface Recipient {
  readonly agentId: string
  readonly guildNodeId: string
  readonly userId: string
}

export type DropReason = "gated" | "duplicate" | "self" | "malformed" | "unrouted" | "unknown_channel"

export const countDrop = (reason: DropReason) => Metric.increment(Metric.tagged(messagesDropped, "reason", reason))

/** The notification for `message`, routed to `binding` (host-protocol.md, Inbound). */
export const toInbound = (binding: Binding, recipient: Recipient, channel: Channel, message: Message): Inbound => ({
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
    ...(message.command ? { command: message.command } : {})
  }
})

/** What the pipeline decided for one message. */
type Verdict =
  | { readonly _tag: "Drop"; readonly reason: DropReason; readonly detail?: string }
  | { readonly _tag: "Deliver"; readonly binding: Binding }

export class Pipeline extends Effect.Service<Pipeline>()("plexum-fabric/Pipeline", {
  effect: Effect.gen(function*() {
    const profile = yield* ActiveProfile
    const host = yield* HostApi
    const dedup = yield* Dedup
    const queue = yield* ChannelQueue
    const typing = yield* Typing

    const decide = Effect.fnUntraced(function*(recipient: Recipient, message: Message, channel: Channel) {
      if (isOwnMessage(message.author_id, recipient.userId)) return { _tag: "Drop", reason: "self" } satisfies Verdict
      if (!wakes(channel.x_type, message.wakeup)) {
        return { _tag: "Drop", reason: "gated", detail: `${channel.x_type}_without_wakeup` } satisfies Verdict
      }
      if (!(yield* dedup.firstSeen(recipient.agentId, recipient.guildNodeId, message.id))) {
        return { _tag: "Drop", reason: "duplicate" } satisfies Verdict
      }
      const binding = routeInbound(profile.bindings, recipient.agentId, recipient.guildNodeId, message.channel_id)
      return binding === undefined
        ? ({ _tag: "Drop", reason: "unrouted" } satisfies Verdict)
        : ({ _tag: "Deliver", binding } satisfies Verdict)
    })

    const endSpan = (span: Tracer.Span, exit: Exit.Exit<unknown, unknown>) =>
      Effect.flatMap(Clock.currentTimeNanos, (now) => Effect.sync(() => span.end(now, exit)))

    /** Runs on the channel's worker; ends the message's span with how it went. */
    const notify = (payload: Inbound, span: Tracer.Span) =>
      host.inbound(payload).pipe(
        Effect.zipRight(typing.notified(payload.fabric.agent_id, payload.fabric.guild_node_id, payload.fabric.channel_id)),
        Effect.zipRight(Metric.increment(messagesDelivered)),
        Effect.withSpan(SpanNames.inboundNotify, { captureStackTrace: false }),
        Effect.withParentSpan(span),
        Effect.onExit((exit) => {
          span.attribute(Attr.outcome, Exit.isSuccess(exit) ? InboundOutcome.delivered : "failed")
          return endSpan(span, exit)
        })
      )

    /**
     * One message of `channel` for `recipient`. Returns once the message is dropped or queued
     * behind the channel's earlier ones; delivery itself runs on the channel's worker. Each
     * message is the root of its own trace, linked to the span that received it (the socket
     * session, or the catch-up run); docs/observability.md.
     */
    const handle = Effect.fnUntraced(function*(recipient: Recipient, message: Message, channel: Channel, source: InboundSource) {
      yield* Metric.increment(messagesReceived)
      const span = yield* Effect.makeSpan(
        SpanNames.inboundMessage,
        inboundRootOptions(yield* currentSpanLink, {
          [Attr.agent]: recipient.agentId,
          [Attr.guild]: recipient.guildNodeId,
          [Attr.channel]: message.channel_id,
          [Attr.messageId]: message.id,
          [Attr.source]: source
        })
      )
      const verdict = yield* decide(recipient, message, channel)
      if (verdict._tag === "Deliver") {
        const payload = toInbound(verdict.binding, recipient, channel, message)
        return yield* queue.offer(queueKey(recipient.agentId, message.channel_id), notify(payload, span))
      }
      span.attribute(Attr.outcome, verdict.reason)
      if (verdict.detail) span.attribute(Attr.reason, verdict.detail)
      yield* countDrop(verdict.reason)
      yield* endSpan(span, Exit.void)
      if (verdict.reason === "unrouted") {
        yield* Effect.logWarning(
          `Message ${message.id} in channel ${message.channel_id} of guild ${recipient.guildNodeId} was not delivered: ` +
            `agent ${recipient.agentId} has no channel binding for that guild. Add a file under channels/ that binds ` +
            `the agent to the guild.`
        )
      }
    })

    return { handle } as const
  }),
  dependencies: [Dedup.Default, ChannelQueue.Default]
}) {}
