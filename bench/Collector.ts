/**
 * Counts received messages (and their one-way latency, when stamped) until an expected count.
 * The same code runs in the raw client and in the plugin's host, so both sides of every
 * comparison measure alike. A coalesced notification carries several messages: the host says
 * how many, and each is counted.
 */
import { Deferred, Duration, Effect } from "effect"

export interface Collected {
  /** Messages received: every message id once, those a coalesced notification carries included. */
  readonly count: number
  /** What carried them: notifications (plugin) or `message.created` events (raw client). */
  readonly notifications: number
  readonly first_ns: string
  readonly last_ns: string
  /** Emit → receive, microseconds, in arrival order (stamped messages only). */
  readonly latencies_us: ReadonlyArray<number>
}

const STAMP = " t="
/** A receiver that got nothing for this long has stopped receiving: the run ends short. */
export const IDLE_MS = 10_000

/** Content of a bench message: its run's tag, then (paced messages) the emit time. */
export const tagged = (tag: string) => `bench ${tag}`
export const stamped = (tag: string, emittedNs: bigint) => `${tagged(tag)}${STAMP}${emittedNs}`

/** The emit time a `simHost` stamp carries, or undefined for an unstamped message. */
export const stampOf = (content: string): bigint | undefined => {
  const at = content.indexOf(STAMP)
  return at < 0 ? undefined : BigInt(content.slice(at + STAMP.length).split(/\s/, 1)[0]!)
}

export interface Collector {
  /**
   * One notification (or event) read at `receivedNs`. `messages` is how many Fabric messages it
   * carries: 1, or for a coalesced notification 1 + `fabric.coalesced_message_ids.length`
   * (its `content` is then their contents joined with "\n", oldest first).
   */
  readonly onMessage: (receivedNs: bigint, content: string, messages?: number) => void
  /**
   * What arrived: all `expected` messages, or what had arrived when `timeoutMs` struck or
   * nothing more arrived for `IDLE_MS`.
   */
  readonly done: (timeoutMs: number) => Effect.Effect<Collected>
}

/**
 * Counts the messages of the run tagged `tag` only: a receiver still delivering an earlier
 * run's backlog does not pollute this one. A coalesced notification is judged by its first
 * (oldest) content: it merges messages of one author in one channel less than `coalesce_ms`
 * apart, and a run's burst starts only after the previous run's last message was counted, so
 * it never mixes two runs' messages.
 */
export const makeCollector = (expected: number, tag: string): Effect.Effect<Collector> =>
  Effect.map(Deferred.make<Collected>(), (finished) => {
    let count = 0
    let notifications = 0
    let first = 0n
    let last = 0n
    const latencies: Array<number> = []
    const snapshot = (): Collected => ({ count, notifications, first_ns: String(first), last_ns: String(last), latencies_us: latencies })
    const prefix = `${tagged(tag)} `
    return {
      onMessage: (receivedNs, content, messages = 1) => {
        if (!content.startsWith(prefix)) return
        if (count === 0) first = receivedNs
        last = receivedNs
        count += messages
        notifications += 1
        // The stamp of the first message (paced runs deliver one message per notification).
        const emitted = stampOf(content)
        if (emitted !== undefined) latencies.push(Number(receivedNs - emitted) / 1000)
        // A notification may carry the last few at once: the count can pass `expected` in one step.
        if (count >= expected) Deferred.unsafeDone(finished, Effect.succeed(snapshot()))
      },
      done: (timeoutMs) => {
        let seen = -1
        const stalled = Effect.sync(() => {
          const progressed = count !== seen
          seen = count
          return progressed
        }).pipe(
          Effect.delay(Duration.millis(IDLE_MS)),
          Effect.repeat({ while: (progressed) => progressed }),
          Effect.map(snapshot)
        )
        return Effect.raceFirst(Deferred.await(finished), stalled).pipe(
          Effect.timeoutTo({ duration: timeoutMs, onTimeout: snapshot, onSuccess: (collected) => collected })
        )
      }
    }
  })
