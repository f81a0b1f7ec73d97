/**
 * Span names, attribute keys and outcome values shared by every instrumented module, so a
 * trace reads the same whoever wrote the code and docs/observability.md lists them once.
 *
 * Inbound trace design: each Fabric message gets its own root span `inbound.message` (a
 * socket session lives for hours; parenting every message under it would make one
 * unreadable trace). The message span carries a Link to the `socket.session` span that
 * received it. The checks (decode, self, gate, dedup, route) take microseconds and stay
 * inline: the root's `outcome` attribute says how it ended. Only the hand-over to the host,
 * which can wait on a slow host, is a child span.
 */
import { Context, Effect, Option, Tracer } from "effect"

export const SpanNames = {
  /** Root span per inbound message (socket or catch-up). */
  inboundMessage: "inbound.message",
  /** The hand-over of a delivered message to the host, on its channel's worker. */
  inboundNotify: "inbound.notify",
  /** One connected lifetime of a guild socket, per (agent, guild). */
  socketSession: "socket.session"
} as const

/** `tool.<name>` — one span per `tools/call`. */
export const toolSpan = (toolName: string): string => `tool.${toolName}`

/** `jsonrpc <method>` — one span per host request handled. */
export const jsonRpcSpan = (method: string): string => `jsonrpc ${method}`

/** `fabric.rest <route>` — the route is the template (`POST /api/channels/{id}/messages`), never a filled path. */
export const fabricRestSpan = (route: string): string => `fabric.rest ${route}`

/**
 * Attribute keys. Ids are fine on spans (one span, one value) but never on metrics; secrets
 * and message text never go anywhere.
 */
export const Attr = {
  agent: "agent",
  guild: "guild",
  channel: "channel",
  messageId: "message_id",
  /** socket | catchup */
  source: "source",
  outcome: "outcome",
  /** why a message was gated (the WakeGate reason), low cardinality */
  reason: "reason",
  tool: "tool",
  /** HTTP semantic conventions, for Fabric REST calls */
  httpMethod: "http.request.method",
  route: "http.route",
  status: "http.response.status_code",
  /** tries of one Fabric REST call, retries included */
  attempts: "fabric.attempts"
} as const

export const InboundOutcome = {
  delivered: "delivered",
  gated: "gated",
  duplicate: "duplicate",
  self: "self",
  malformed: "malformed",
  /** no channel binding routes the message to the agent */
  unrouted: "unrouted",
  /** writing the notification to the host failed */
  failed: "failed"
} as const

export type InboundOutcome = (typeof InboundOutcome)[keyof typeof InboundOutcome]

export const InboundSource = { socket: "socket", catchup: "catchup" } as const

export type InboundSource = (typeof InboundSource)[keyof typeof InboundSource]

/** A Link pointing at `span` (typically the `socket.session` span that received a message). */
export const linkTo = (
  span: Tracer.AnySpan,
  attributes: Readonly<Record<string, unknown>> = {}
): Tracer.SpanLink => ({ _tag: "SpanLink", span, attributes })

/**
 * A Link to the span running now, if any. The socket session captures it once and hands it
 * to each message it receives: `Effect.withSpan(SpanNames.inboundMessage, inboundRootOptions(link))`.
 */
export const currentSpanLink: Effect.Effect<Option.Option<Tracer.SpanLink>> = Effect.currentSpan.pipe(
  Effect.map((span) => linkTo(span)),
  Effect.option
)

/**
 * Options for the per-message root span: a new trace (`root: true`), linked to the session
 * that received it when there is one.
 */
export const inboundRootOptions = (
  sessionLink: Option.Option<Tracer.SpanLink>,
  attributes: Readonly<Record<string, unknown>> = {}
): Tracer.SpanOptions => ({
  root: true,
  kind: "consumer",
  // One per message: a stack trace each was the biggest cost of the span (bench profile).
  captureStackTrace: false,
  attributes,
  links: Option.toArray(sessionLink)
})

/**
 * Runs `self` outside the current trace: long-lived work started by a request (the activated
 * plugin, its sockets) must not make that request's trace grow for hours.
 */
export const detached = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.mapInputContext(self, (context: Context.Context<R>) => Context.omit(Tracer.ParentSpan)(context) as Context.Context<R>)
