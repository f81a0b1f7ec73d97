/**
 * The HTTP exchanges with Fabric (center and guild nodes alike): one request and its answer's
 * body, read up to a limit, as one `Effect.async` over undici's dispatcher. FabricHttp puts the
 * contract's rules (statuses, retries, decoding) on top; tests put a scripted transport in its
 * place.
 *
 * Why not @effect/platform's HttpClient: measured against a plain node server, one call cost
 * ~290 µs of CPU through `HttpClient.execute` and ~100 µs through undici directly, and each
 * attempt's `Effect.timeoutFail` forked two fibers more. A fleet of 1,000 sessions makes three
 * calls per session at every reconnect, so that difference was most of a reconnect storm's CPU.
 * The attempt's bound is an `AbortSignal.timeout` that aborts the exchange instead. And why
 * the dispatcher rather than undici's `request`: that one builds a body stream and promises per
 * call; a call with its local server's answer cost ~50 µs of CPU through the dispatcher against
 * ~95 µs through `request` (6,000 calls, 50 at a time, one process).
 *
 * All calls share one undici Agent, at most `CONNECTIONS_PER_ORIGIN` connections per origin,
 * kept alive between calls (undici's default: 4 s idle, under Node servers' 5 s). undici's
 * default Agent has no such bound: 1,000 sessions connecting at once held some 2,000
 * connections open to one node, and left as many in TIME_WAIT. With the bound, requests beyond
 * it wait for a connection that is already open (within their own timeout).
 */
import { Context, Data, Duration, Effect, Layer } from "effect"
import type { Dispatcher } from "undici"
import Agent from "undici/lib/dispatcher/agent.js"

/** Concurrent requests per origin; more wait for a free connection. */
export const CONNECTIONS_PER_ORIGIN = 32

export interface TransportRequest {
  readonly method: "GET" | "POST" | "PUT"
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | Uint8Array | undefined
  /** Bound on the whole exchange: waiting for a connection, the answer and its body. */
  readonly timeout: Duration.Duration
  /**
   * How many bytes of the answer's body to read, given its status and headers. Past it reading
   * stops and the rest is never read: a limit of 0 reads nothing.
   */
  readonly readLimit: (status: number, headers: TransportHeaders) => number
}

/** Header names in lower case; a repeated header is joined with ", ". */
export type TransportHeaders = Readonly<Record<string, string | undefined>>

export interface TransportAnswer {
  readonly status: number
  readonly headers: TransportHeaders
  /** The body, at most `readLimit` bytes of it. */
  readonly body: Buffer
  /** False when the body was longer than `readLimit` (or not read at all): `body` is its start. */
  readonly complete: boolean
}

/** No exchange took place, or it broke off; the status is set when the answer had begun. */
export class TransportFailure extends Data.TaggedError("TransportFailure")<{
  readonly kind: "no_connection" | "cut_off" | "timeout" | "invalid_url"
  readonly status?: number | undefined
}> {}

export class FabricTransport extends Context.Tag("plexum-fabric/FabricTransport")<FabricTransport, {
  readonly send: (request: TransportRequest) => Effect.Effect<TransportAnswer, TransportFailure>
}>() {}

/** The declared length of a body, when the headers declare a valid one. */
export const declaredLength = (headers: TransportHeaders): number | undefined => {
  const value = headers["content-length"]
  const length = value === undefined ? Number.NaN : Number(value)
  return Number.isInteger(length) && length >= 0 ? length : undefined
}

const flatHeaders = (raw: Record<string, string | Array<string> | undefined>): TransportHeaders => {
  const headers: Record<string, string | undefined> = {}
  for (const name in raw) {
    const value = raw[name]
    headers[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return headers
}

/** undici's codes for a request that never reached a server, or a URL it cannot use. */
const invalidUrl = (error: unknown) =>
  error instanceof TypeError || (error as { code?: string } | undefined)?.code === "UND_ERR_INVALID_ARG"

/**
 * One exchange through undici's dispatcher, its answer collected from the handler's callbacks:
 * no body stream, no promise per step. At most `readLimit` bytes of the body are kept; past it
 * the exchange is aborted, so the rest is never read.
 */
const send = (agent: Agent) => (request: TransportRequest): Effect.Effect<TransportAnswer, TransportFailure> =>
  Effect.async<TransportAnswer, TransportFailure>((resume, interrupted) => {
    const timeout = AbortSignal.timeout(Duration.toMillis(request.timeout))
    let controller: Dispatcher.DispatchController | undefined
    /** Resumed (or interrupted): later callbacks, the abort's own error among them, change nothing. */
    let settled = false
    let status: number | undefined
    let headers: TransportHeaders = {}
    let limit = 0
    let size = 0
    const parts: Array<Buffer> = []

    const settle = () => {
      settled = true
      // The timeout's signal must not be kept alive by its listener until it fires.
      timeout.removeEventListener("abort", stop)
      interrupted.removeEventListener("abort", stop)
    }
    const failed = (error: unknown) => {
      if (settled) return
      settle()
      if (interrupted.aborted) return
      resume(Effect.fail(
        new TransportFailure({
          kind: timeout.aborted ? "timeout" : status !== undefined ? "cut_off" : invalidUrl(error) ? "invalid_url" : "no_connection",
          status
        })
      ))
    }
    const answered = (complete: boolean) => {
      if (settled) return
      settle()
      resume(Effect.succeed({ status: status!, headers, body: Buffer.concat(parts, Math.min(size, limit)), complete }))
    }
    // Either ends the exchange: the fiber's interruption or the timeout. A request still waiting
    // for a connection has no controller yet: it fails now, and is aborted once it starts.
    const stop = () => {
      const reason = new Error(timeout.aborted ? "timed out" : "interrupted")
      if (controller === undefined) failed(reason)
      else controller.abort(reason)
    }
    interrupted.addEventListener("abort", stop, { once: true })
    timeout.addEventListener("abort", stop, { once: true })

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: (started) => {
        controller = started
        if (settled) started.abort(new Error("ended before it started"))
      },
      onResponseStart: (current, statusCode, raw) => {
        status = statusCode
        headers = flatHeaders(raw)
        limit = request.readLimit(statusCode, headers)
        if (limit <= 0) {
          answered(declaredLength(headers) === 0)
          current.abort(new Error("not read"))
        }
      },
      onResponseData: (current, chunk) => {
        if (settled) return
        parts.push(chunk)
        size += chunk.length
        if (size > limit) {
          answered(false)
          current.abort(new Error("read up to the limit"))
        }
      },
      onResponseEnd: () => answered(true),
      onResponseError: (_, error) => failed(error)
    }
    try {
      const url = new URL(request.url)
      agent.dispatch(
        { origin: url.origin, path: url.pathname + url.search, method: request.method, headers: request.headers, body: request.body ?? null },
        handler
      )
    } catch (error) {
      failed(error)
    }
  })

/** The transport over real HTTP, with the Agent closed with the layer's scope. */
export const FabricTransportLive: Layer.Layer<FabricTransport> = Layer.scoped(
  FabricTransport,
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => new Agent({ connections: CONNECTIONS_PER_ORIGIN })),
      (agent) => Effect.promise(() => agent.destroy())
    ),
    (agent) => ({ send: send(agent) })
  )
)
