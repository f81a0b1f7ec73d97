/**
 * Every fixed timing of the inbound path, in one place. The profile's own timings
 * (`channel_sync_interval_seconds`, `queue_idle_seconds`, `session_ttl_seconds`) are read from
 * config.json where they are used; docs/inbound.md lists them all together.
 */
import { Context, Duration, Schedule } from "effect"

/** First reconnect delay after a connection ended. */
export const RECONNECT_BASE = Duration.millis(500)
/** No reconnect waits longer, jitter included. */
export const RECONNECT_CAP = Duration.seconds(30)
/** A connection that stayed up this long was healthy: the next reconnect starts from the base again. */
export const HEALTHY_CONNECTION = Duration.seconds(60)

/** What the reconnect policy needs to know about the session that just ended. */
export interface Uptime {
  /** How long the socket was connected; zero when it never got connected. */
  readonly upFor: Duration.Duration
}

export const isHealthy = (ended: Uptime) => Duration.greaterThanOrEqualTo(ended.upFor, HEALTHY_CONNECTION)

/**
 * When to reconnect a guild socket after its session ended, for any reason: exponential from
 * 500 ms, jittered (×0.8–1.2, so agents that dropped together do not return together), never
 * above 30 s, and back to 500 ms once a connection has stayed up 60 s. Outputs the delay.
 *
 * The cap is applied to the exponential base and again after the jitter: the base stops
 * doubling (so it never overflows), and the jitter still spreads delays below the cap.
 */
export const reconnectPolicy: Schedule.Schedule<Duration.Duration, Uptime> = Schedule.exponential(RECONNECT_BASE).pipe(
  Schedule.either(Schedule.spaced(RECONNECT_CAP)),
  Schedule.jittered,
  Schedule.modifyDelay((_, delay) => Duration.min(delay, RECONNECT_CAP)),
  Schedule.intersect(Schedule.identity<Uptime>()),
  Schedule.resetWhen(([, ended]) => isHealthy(ended)),
  Schedule.delays
)

/**
 * The policy the Supervisor uses: `reconnectPolicy` unless a test provides a faster one
 * (integration tests that drop sockets every two seconds should not wait 30 s per attempt).
 */
export class ReconnectPolicy extends Context.Reference<ReconnectPolicy>()("plexum-fabric/ReconnectPolicy", {
  defaultValue: () => reconnectPolicy
}) {}

/**
 * When a connected socket re-reads its channel list (`channel_sync_interval_seconds`): a safety
 * net for `channel.joined` / `channel.left` events a guild did not send. The first re-sync
 * comes one interval after the connect, which already loaded the list.
 */
export const resyncPolicy = (intervalSeconds: number) => Schedule.spaced(Duration.seconds(intervalSeconds))
