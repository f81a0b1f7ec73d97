/**
 * The HTTP exchanges with Fabric (center and guild nodes alike): one request and its answer's
 * body, read up to a limit, as one `Effect.async` over undici's `request`. FabricHttp puts the
 * contract's rules (statuses, retries, decoding) on top; tests put a scripted transport in its
 * place.
 *
 * Why not @effect/platform's HttpClient: measured against a plain node server, one call cost
 * ~290 µs of CPU through `HttpClient.execute` and ~100 µs through undici directly, and each
 * attempt's `Effect.timeoutFail` forked two fibers more. A fleet of 1,000 sessions makes three
 * calls per session at every reconnect, so that difference was most of a reconnect storm's CPU.
 * The attempt's bound is an `AbortSignal.timeout` that travels with the request instead.
 *
 * All calls share one undici Agent, at most `CONNECTIONS_PER_ORIGIN` connections per origin,
 * kept alive between calls (undici's default: 4 s idle, under Node servers' 5 s). undici's
 * default Agent has no such bound: 1,000 sessions connecting at once held some 2,000
 * connections open to one node, and left as many in TIME_WAIT. With the bound, requests beyond
 * it wait for a connection that is already open (within their own timeout).
 */
import { Context, Data, Duration, Effect, Layer } from "effect"
import { Agent, request as undiciRequest } from "undici"

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

type Body = AsyncIterable<Buffer> & {
  arrayBuffer(): Promise<ArrayBuffer>
  destroy(error?: Error): unknown
  on(event: "error", listener: () => void): unknown
}

/** Leaves the rest of a body unread: undici reports the cut as an error, which is expected here. */
const discard = (body: Body) => {
  body.on("error", () => {})
  body.destroy()
}

/** Reads at most `limit` bytes; a body declared within the limit is read whole, at once. */
const readBody = async (body: Body, declared: number | undefined, limit: number): Promise<{ bytes: Buffer; complete: boolean }> => {
  if (limit <= 0) {
    discard(body)
    return { bytes: Buffer.alloc(0), complete: declared === 0 }
  }
  if (declared !== undefined && declared <= limit) return { bytes: Buffer.from(await body.arrayBuffer()), complete: true }
  const parts: Array<Buffer> = []
  let size = 0
  for await (const part of body) {
    parts.push(part)
    size += part.byteLength
    if (size > limit) {
      discard(body)
      return { bytes: Buffer.concat(parts, size).subarray(0, limit), complete: false }
    }
  }
  return { bytes: Buffer.concat(parts, size), complete: true }
}

/** undici's codes for a request that never reached a server, or a URL it cannot use. */
const invalidUrl = (error: unknown) =>
  error instanceof TypeError || (error as { code?: string } | undefined)?.code === "UND_ERR_INVALID_ARG"

const send = (agent: Agent) => (request: TransportRequest): Effect.Effect<TransportAnswer, TransportFailure> =>
  Effect.async<TransportAnswer, TransportFailure>((resume, interrupted) => {
    const timeout = AbortSignal.timeout(Duration.toMillis(request.timeout))
    // Either ends the request: the fiber's interruption or the timeout. (By hand: AbortSignal.any
    // is Node 20.3+, and the plugin runs on any Node 20.)
    const abort = new AbortController()
    const stop = () => abort.abort()
    interrupted.addEventListener("abort", stop, { once: true })
    timeout.addEventListener("abort", stop, { once: true })
    // Settled: the timeout's signal must not be kept alive by its listener until it fires.
    const settle = () => timeout.removeEventListener("abort", stop)
    let status: number | undefined
    const failed = (error: unknown) => {
      settle()
      if (interrupted.aborted) return
      resume(Effect.fail(
        new TransportFailure({
          kind: timeout.aborted ? "timeout" : status !== undefined ? "cut_off" : invalidUrl(error) ? "invalid_url" : "no_connection",
          status
        })
      ))
    }
    let sent: ReturnType<typeof undiciRequest>
    try {
      sent = undiciRequest(request.url, {
        dispatcher: agent,
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
        signal: abort.signal
      })
    } catch (error) {
      return failed(error)
    }
    sent.then((response) => {
      status = response.statusCode
      const headers = flatHeaders(response.headers)
      return readBody(response.body, declaredLength(headers), request.readLimit(response.statusCode, headers)).then(
        ({ bytes, complete }) => {
          settle()
          resume(Effect.succeed({ status: response.statusCode, headers, body: bytes, complete }))
        }
      )
    }).catch(failed)
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
