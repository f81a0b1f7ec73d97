/**
 * Every fixed timing of the inbound path, in one place. The profile's own timings
 * (`channel_sync_interval_seconds`, `queue_idle_seconds`, `session_ttl_seconds`) are read from
 * config.json where they are used; docs/inbound.md lists them all together.
 */
import { Context, Duration, Effect, Random, Schedule, ScheduleDecision, ScheduleInterval } from "effect"

/** First wait after a failed attempt; each further consecutive failure doubles it. */
export const RECONNECT_BASE = Duration.millis(500)
/** No wait after a failed attempt is longer, jitter included. */
export const RECONNECT_CAP = Duration.seconds(30)
/** A session that was live reconnects after a random 0 to this many milliseconds. */
export const LIVE_RECONNECT_JITTER_MS = 250

/**
 * Longest a connected socket waits for the other sockets its guild node is accepting in the
 * same wave before its REST calls start (ConnectWave.ts).
 */
export const CONNECT_WAVE_WAIT_MAX = Duration.seconds(5)

/** What the reconnect policy needs to know about the session that just ended. */
export interface SessionEnd {
  /**
   * The socket was connected and caught up (live) before it closed, whatever closed it (the
   * node, a token expiry, a node restart, the network). False: it failed to connect, or failed
   * before it was live.
   */
  readonly wasLive: boolean
}

/**
 * One step of the reconnect policy, as a plain function: given how many attempts in a row had
 * failed before this session, how the session ended, and a uniform random number in [0, 1),
 * the wait before the next attempt and the new failure count.
 *
 * A live session reconnects at once (0-250 ms, so agents a node dropped together do not all
 * return in the same millisecond) and clears the failure count: a drop is not a reason to
 * wait, and waiting only lets more messages pile up for catch-up. A failure waits 500 ms × 2^n
 * for the n-th consecutive failure (n from 0), jittered ×0.8-1.2, never more than 30 s.
 */
export const reconnectStep = (
  failuresBefore: number,
  ended: SessionEnd,
  random: number
): { readonly delay: Duration.Duration; readonly failures: number } => {
  if (ended.wasLive) return { delay: Duration.millis(Math.floor(random * (LIVE_RECONNECT_JITTER_MS + 1))), failures: 0 }
  const capMillis = Duration.toMillis(RECONNECT_CAP)
  // The exponent stops growing once the base alone is past the cap, so it never overflows.
  const exponential = Math.min(Duration.toMillis(RECONNECT_BASE) * 2 ** Math.min(failuresBefore, 16), capMillis)
  const jittered = exponential * (0.8 + 0.4 * random)
  return { delay: Duration.millis(Math.round(Math.min(jittered, capMillis))), failures: failuresBefore + 1 }
}

/**
 * When to reconnect a guild socket after its session ended: `reconnectStep` as a `Schedule`
 * whose state is the number of consecutive failed attempts. Outputs the delay.
 */
export const reconnectPolicy: Schedule.Schedule<Duration.Duration, SessionEnd> = Schedule.makeWithState(
  0,
  (now, ended: SessionEnd, failures) =>
    Effect.map(Random.next, (random) => {
      const step = reconnectStep(failures, ended, random)
      return [
        step.failures,
        step.delay,
        ScheduleDecision.continueWith(ScheduleInterval.after(now + Duration.toMillis(step.delay)))
      ] as const
    })
)

/**
 * The policy the Supervisor uses: `reconnectPolicy` unless a test provides a faster one
 * (integration tests that drop sockets every two seconds should not wait 30 s per attempt).
 */
export class ReconnectPolicy extends Context.Reference<ReconnectPolicy>()("plexum-fabric/ReconnectPolicy", {
  defaultValue: () => reconnectPolicy
}) {}
