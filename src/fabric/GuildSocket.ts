/**
 * socket.io-client, wrapped once. A connection is a scoped resource: the socket and every
 * listener are released with the scope, and its events arrive in a bounded Mailbox that fails
 * with `SocketClosed` when the connection ends, whatever the cause. The caller takes them in
 * batches (`takeAll`: everything buffered at once), and may add events of its own to wake
 * itself up in order with them (a socket session whose pending burst is due). Reconnecting is
 * the caller's Schedule's job: socket.io-client's own reconnection is off and no Manager is
 * shared.
 */
import { acquireReleasePlain } from "../Release.js"
import { withSpanWhileTracing } from "../telemetry/Spans.js"
import { Deferred, Duration, Effect, Exit, Mailbox, Option, Redacted, Schema, type Scope } from "effect"
import { io, type Socket } from "socket.io-client"
import { CONNECT_ERROR_UNAUTHORIZED, ConnectErrorData, SOCKET_PATH, socketAuth } from "./FabricContract.js"
import { boundLiveness, LivenessBound } from "./Liveness.js"

/** The connection ended, or never started. `message` is one line, without the token. */
export class SocketClosed extends Schema.TaggedError<SocketClosed>()("SocketClosed", {
  reason: Schema.Literal("unauthorized", "connect_error", "timeout", "server_disconnect", "transport", "overflow"),
  /** The guild's refusal code (`invalid_token`, `token_expired`), or socket.io's disconnect reason. */
  code: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/**
 * Events a connection buffers for its consumer. socket.io-client cannot pause its reads: when
 * the consumer falls this far behind (a host that stopped reading stdout, a long catch-up under
 * heavy traffic), the connection is closed as `overflow` and the consumer catches up from
 * history after reconnecting, instead of buffering without bound.
 */
export const SOCKET_BUFFER_EVENTS = 8192

/** One event from the guild node: its name and first argument, not yet decoded. */
export interface SocketEvent {
  readonly name: string
  readonly payload: unknown
}

/**
 * How long one attempt may take to be accepted by a guild node. socket.io-client's own timeout
 * (20 s) is longer, so this one decides, and the caller's Schedule sees an ordinary failure.
 */
export const CONNECT_TIMEOUT = Duration.seconds(10)

const decodeRefusal = Schema.decodeUnknownOption(ConnectErrorData)

const connectError = (endpoint: string, error: Error & { readonly data?: unknown }): SocketClosed => {
  if (error.message === CONNECT_ERROR_UNAUTHORIZED) {
    const code = Option.getOrUndefined(Option.map(decodeRefusal(error.data), (refusal) => refusal.code))
    return new SocketClosed({
      reason: "unauthorized",
      ...(code ? { code } : {}),
      message: `guild node ${endpoint} refused the guild token (${code ?? "unauthorized"})`
    })
  }
  return new SocketClosed({ reason: "connect_error", message: `cannot connect to guild node ${endpoint}: ${error.message}` })
}

// Typed fields need no validation: a node dropping a thousand sockets makes a thousand of these.
const disconnected = (endpoint: string, reason: Socket.DisconnectReason): SocketClosed =>
  reason === "io server disconnect"
    ? new SocketClosed({ reason: "server_disconnect", code: reason, message: `guild node ${endpoint} closed the connection` }, true)
    : new SocketClosed({ reason: "transport", code: reason, message: `connection to guild node ${endpoint} lost (${reason})` }, true)

const overflow = (endpoint: string) =>
  new SocketClosed({
    reason: "overflow",
    message: `the plugin fell ${SOCKET_BUFFER_EVENTS} events behind guild node ${endpoint}; reconnecting to catch up from history`
  })

const connect = (endpoint: string, token: Redacted.Redacted<string>, only: ReadonlySet<string> | undefined) =>
  Effect.gen(function*() {
    // Live events wait here while the caller catches up, then are taken in order, in batches.
    const events = yield* Mailbox.make<SocketEvent, SocketClosed>({ capacity: SOCKET_BUFFER_EVENTS, strategy: "dropping" })
    const connected = yield* Deferred.make<void, SocketClosed>()
    const close = (error: SocketClosed) => {
      Deferred.unsafeDone(connected, Exit.fail(error))
      events.unsafeDone(Exit.fail(error))
    }

    const onConnect = () => Deferred.unsafeDone(connected, Exit.void)
    const onConnectError = (error: Error) => close(connectError(endpoint, error))
    const onDisconnect = (reason: Socket.DisconnectReason) => close(disconnected(endpoint, reason))
    const onAny = (name: string, payload: unknown) => {
      if (only !== undefined && !only.has(name)) return
      if (!events.unsafeOffer({ name, payload })) close(overflow(endpoint))
    }
    // One resource, socket and listeners: the listeners are gone before the socket closes. (One
    // acquireRelease per listener cost a reconnect storm four finalizers per socket.)
    const socket = yield* acquireReleasePlain(
      Effect.sync(() => {
        const socket = io(endpoint, {
          path: SOCKET_PATH,
          transports: ["websocket"],
          reconnection: false,
          autoConnect: false,
          forceNew: true,
          auth: socketAuth(Redacted.value(token))
        })
        socket.on("connect", onConnect)
        socket.on("connect_error", onConnectError)
        socket.on("disconnect", onDisconnect)
        socket.onAny(onAny)
        return socket
      }),
      (socket) =>
        Effect.sync(() => {
          socket.offAny(onAny)
          socket.off("connect", onConnect)
          socket.off("connect_error", onConnectError)
          socket.off("disconnect", onDisconnect)
          socket.disconnect()
          // engine.io closes the transport only after the disconnect packet's "drain", which a
          // busy event loop can delay by seconds; the connection must not outlive its scope.
          socket.io.engine?.transport?.close()
        })
    )

    socket.connect()
    boundLiveness(socket, yield* LivenessBound)
    yield* Deferred.await(connected).pipe(
      Effect.timeoutFail({
        duration: CONNECT_TIMEOUT,
        onTimeout: () => new SocketClosed({ reason: "timeout", message: `guild node ${endpoint} did not accept the connection in time` })
      })
    )
    return events
  })

export class GuildSocket extends Effect.Service<GuildSocket>()("plexum-fabric/GuildSocket", {
  succeed: {
    /**
     * Connects to a guild node with a guild token. Succeeds once the node accepted the
     * connection, with the mailbox of its events; the mailbox fails with `SocketClosed` when the
     * connection ends (`Mailbox.toStream` for a consumer that wants a Stream). The socket closes
     * with the scope. With `only`, events of other names are not buffered at all.
     */
    connect: (endpoint: string, token: Redacted.Redacted<string>, only?: ReadonlySet<string>): Effect.Effect<
      Mailbox.Mailbox<SocketEvent, SocketClosed>,
      SocketClosed,
      Scope.Scope
    > => connect(endpoint, token, only).pipe(withSpanWhileTracing("GuildSocket.connect", { attributes: { endpoint } }))
  }
}) {}
