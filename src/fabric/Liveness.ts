/**
 * How long a guild socket may hear nothing from its node before it counts as dead: at most
 * 60 s, whatever the node advertises.
 *
 * Engine.IO's heartbeat runs from the node: it pings every `pingInterval` and the client closes
 * the connection ("ping timeout") when no ping came for `pingInterval + pingTimeout`, both
 * values taken from the node's handshake. Two ways that goes wrong:
 * - a node advertising a huge interval and then going silent is never detected;
 * - a sum above 2^31 - 1 ms overflows Node's `setTimeout`, which then fires after 1 ms: every
 *   connection closes at once, a reconnect loop.
 * The Fabric contract has no event a client could send to probe the node (and an Engine.IO v4
 * node refuses a ping from the client), so the bound is applied to the handshake itself: the
 * client's timer never waits longer than `LivenessBound`. A node that pings less often than
 * that is reconnected every bound (a live session: at once, then caught up); socket.io's
 * defaults (25 s + 20 s) are within it and untouched.
 */
import { Context, Duration } from "effect"
import type { Socket } from "socket.io-client"

/** The longest silence a connected socket survives. */
export class LivenessBound extends Context.Reference<LivenessBound>()("plexum-fabric/LivenessBound", {
  defaultValue: (): Duration.Duration => Duration.seconds(60)
}) {}

/** The heartbeat fields of an Engine.IO handshake, as the node sent them. */
export interface Heartbeat {
  readonly pingInterval: number
  readonly pingTimeout: number
}

const sane = (ms: number, fallback: number) => (Number.isFinite(ms) && ms >= 0 ? ms : fallback)

/**
 * The heartbeat the client applies: the node's own when `pingInterval + pingTimeout` is within
 * `bound`; else the timeout keeps at most a third of the bound (time for a late pong) and the
 * interval gets the rest. A value that is not a finite non-negative number counts as the bound.
 */
export const boundedHeartbeat = (advertised: Heartbeat, bound: Duration.Duration): Heartbeat => {
  const boundMs = Duration.toMillis(bound)
  const interval = sane(advertised.pingInterval, boundMs)
  const timeout = sane(advertised.pingTimeout, boundMs)
  if (interval + timeout <= boundMs) return { pingInterval: interval, pingTimeout: timeout }
  const boundedTimeout = Math.min(timeout, Math.floor(boundMs / 3))
  return { pingInterval: Math.min(interval, boundMs - boundedTimeout), pingTimeout: boundedTimeout }
}

/**
 * Applies `boundedHeartbeat` to the socket's connection. Call right after `socket.connect()`,
 * which creates the Engine.IO socket: its "handshake" event hands listeners the handshake
 * object before the client reads the heartbeat from it.
 */
export const boundLiveness = (socket: Socket, bound: Duration.Duration): void => {
  socket.io.engine.on("handshake", (data) => {
    const bounded = boundedHeartbeat(data, bound)
    data.pingInterval = bounded.pingInterval
    data.pingTimeout = bounded.pingTimeout
  })
}
