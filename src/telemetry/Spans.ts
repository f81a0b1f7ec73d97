/**
 * Span names, attribute keys and outcome values shared by every instrumented module, so a
 * trace reads the same whoever wrote the code and docs/observability.md lists them once.
 *
 * Inbound trace design: inbound messages are decided in batches by plain functions, and a
 * span per message would cost more than the decision itself. With spans exported, each batch
 * is its own root span `inbound.batch` (a socket session lives for hours; parenting every batch
 * under it would make one unreadable trace) carrying the ids of its messages and each one's
 * outcome, linked to the `socket.session` span that received it. Without an exporter no span
 * object is made at all.
 */
import { Context, Effect, FiberRef, Option, Tracer } from "effect"
import { dual } from "effect/Function"

export const SpanNames = {
  /** Root span per decided batch of inbound messages (socket, catch-up or late). */
  inboundBatch: "inbound.batch",
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
  /** socket | catchup | late */
  source: "source",
  /** messages decided in a batch */
  messages: "messages",
  /** messages a batch delivered */
  delivered: "delivered",
  /** the batch's message ids, in order, and each one's outcome (delivered or the drop reason) */
  messageIds: "message_ids",
  outcomes: "outcomes",
  /** how a tool call ended: ok | error */
  outcome: "outcome",
  tool: "tool",
  /** HTTP semantic conventions, for Fabric REST calls */
  httpMethod: "http.request.method",
  route: "http.route",
  status: "http.response.status_code",
  /** tries of one Fabric REST call, retries included */
  attempts: "fabric.attempts"
} as const

/**
 * Sets attributes on the current span; nothing at all while spans are off. Effect's own
 * `annotateCurrentSpan` builds and throws away a `NoSuchElementException`, stack trace included,
 * when the current span is a no-op one: per REST call and per session that cost a reconnect
 * storm about 3 % of its CPU, and more in garbage.
 */
export const annotateSpan = (attributes: Readonly<Record<string, unknown>>): Effect.Effect<void> =>
  Effect.flatMap(tracing, (enabled) => enabled ? Effect.annotateCurrentSpan(attributes) : Effect.void)

/** True while spans are made (an exporter is configured). */
export const tracing: Effect.Effect<boolean> = FiberRef.get(FiberRef.currentTracerEnabled)

/**
 * `Effect.withSpan` while spans are on; while they are off, `self` alone. Effect's own makes a
 * no-op span and its finalizer even then, which a REST call made thousands of times pays for.
 */
export const withSpanWhileTracing: {
  (name: string, options?: Tracer.SpanOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, name: string, options?: Tracer.SpanOptions): Effect.Effect<A, E, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(self: Effect.Effect<A, E, R>, name: string, options?: Tracer.SpanOptions): Effect.Effect<A, E, R> =>
    Effect.flatMap(tracing, (enabled) => (enabled ? Effect.withSpan(self, name, options) : self))
)

/**
 * `Effect.fn(name)` for a body made with `Effect.fnUntraced`, its span made only while spans
 * are exported. Effect.fn captures a call-site stack trace, makes a span (a no-op one without an
 * exporter) and updates the fiber's context on every call; the REST calls, lookups and
 * catch-ups of a 1,000-socket connect paid for that thousands of times (measured in
 * docs/performance.md).
 */
export const fnWhileTracing = (name: string) =>
<Args extends ReadonlyArray<any>, A, E, R>(body: (...args: Args) => Effect.Effect<A, E, R>) =>
(...args: Args): Effect.Effect<A, E, R> => withSpanWhileTracing(body(...args), name)

/** A Link pointing at `span` (typically the `socket.session` span that received a message). */
export const linkTo = (
  span: Tracer.AnySpan,
  attributes: Readonly<Record<string, unknown>> = {}
): Tracer.SpanLink => ({ _tag: "SpanLink", span, attributes })

/**
 * A Link to the span running now, if any. A socket session captures it once and hands it to
 * each batch it decides: `Effect.withSpan(SpanNames.inboundBatch, inboundRootOptions(link))`.
 */
export const currentSpanLink: Effect.Effect<Option.Option<Tracer.SpanLink>> = Effect.currentSpan.pipe(
  Effect.map((span) => linkTo(span)),
  Effect.option
)

/**
 * Options for the per-batch root span: a new trace (`root: true`), linked to the session that
 * received it when there is one.
 */
export const inboundRootOptions = (
  sessionLink: Option.Option<Tracer.SpanLink>,
  attributes: Readonly<Record<string, unknown>> = {}
): Tracer.SpanOptions => ({
  root: true,
  kind: "consumer",
  // A stack trace per span was the biggest cost of the span (bench profile).
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
