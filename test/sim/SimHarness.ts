/**
 * Test-side helpers for the sim suites: plain HTTP calls and real socket.io-client sockets,
 * each acquired in the test's scope and waited on with timeouts, never sleeps.
 */
import { Duration, Effect, Queue, Redacted } from "effect"
import type { Scope } from "effect"
import { io, type Socket } from "socket.io-client"
import { SOCKET_PATH } from "../../src/fabric/FabricContract.js"

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly json: any
}

export const call = (
  method: string,
  url: string,
  options: { readonly token?: Redacted.Redacted<string> | string | undefined; readonly body?: unknown } = {}
): Effect.Effect<Reply> =>
  Effect.promise(async () => {
    const headers: Record<string, string> = {}
    if (options.token !== undefined) {
      headers["authorization"] = `Bearer ${Redacted.isRedacted(options.token) ? Redacted.value(options.token) : options.token}`
    }
    if (options.body !== undefined) headers["content-type"] = "application/json"
    const response = await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body)
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, json: text === "" ? undefined : JSON.parse(text) }
  })

export interface Received {
  readonly event: string
  readonly payload: any
}

export interface TestSocket {
  readonly socket: Socket
  readonly events: Queue.Queue<Received>
  /** Resolves with the reason of the next disconnect. */
  readonly disconnected: Effect.Effect<string>
}

const WAIT = Duration.seconds(8)

/** A socket.io client as the plugin configures it: websocket only, no own reconnection. */
export const openSocket = (endpoint: string, auth: Record<string, unknown>): Effect.Effect<Socket, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() =>
      io(endpoint, {
        path: SOCKET_PATH,
        auth,
        transports: ["websocket"],
        reconnection: false,
        autoConnect: false,
        forceNew: true
      })
    ),
    (socket) => Effect.sync(() => void socket.removeAllListeners().disconnect())
  )

/** Connects and answers `connect` or the `connect_error` (message, data). */
export const handshake = (socket: Socket) =>
  Effect.async<{ readonly ok: true } | { readonly ok: false; readonly message: string; readonly data: any }>((resume) => {
    const onConnect = () => resume(Effect.succeed({ ok: true } as const))
    const onError = (error: Error & { data?: unknown }) =>
      resume(Effect.succeed({ ok: false, message: error.message, data: error.data } as const))
    socket.once("connect", onConnect)
    socket.once("connect_error", onError)
    socket.connect()
    return Effect.sync(() => {
      socket.off("connect", onConnect)
      socket.off("connect_error", onError)
    })
  }).pipe(Effect.timeoutFail({ duration: WAIT, onTimeout: () => new Error("handshake timed out") }), Effect.orDie)

/** A connected socket whose every event lands in `events`. */
export const connect = (endpoint: string, token: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const socket = yield* openSocket(endpoint, { token: Redacted.value(token) })
    const events = yield* Queue.unbounded<Received>()
    socket.onAny((event: string, payload: unknown) => void Queue.unsafeOffer(events, { event, payload }))
    const outcome = yield* handshake(socket)
    if (!outcome.ok) return yield* Effect.dieMessage(`socket refused: ${outcome.message}`)
    const disconnected = Effect.async<string>((resume) => {
      if (socket.disconnected) return resume(Effect.succeed("already disconnected"))
      const onDisconnect = (reason: string) => resume(Effect.succeed(reason))
      socket.once("disconnect", onDisconnect)
      return Effect.sync(() => socket.off("disconnect", onDisconnect))
    }).pipe(within)
    return { socket, events, disconnected } satisfies TestSocket
  })

export const within = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.timeoutFail({ duration: WAIT, onTimeout: () => new Error("timed out waiting") }), Effect.orDie)

/** The next event named `name` (others are skipped). */
export const nextEvent = (socket: TestSocket, name: string): Effect.Effect<any> =>
  Queue.take(socket.events).pipe(
    Effect.repeat({ until: (received) => received.event === name }),
    Effect.map((received) => received.payload),
    within
  )
