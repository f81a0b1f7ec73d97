/**
 * What the plugin says to the host. stdout belongs to the protocol: every line reaches it in
 * the order it was sent. A line sent while nothing waits before it and stdout takes writes at
 * once is written straight away, on the sender's fiber (the usual case at chat rates: no
 * hand-off per notification); otherwise it joins the outbox, which the one writer fiber drains,
 * batched when the host reads slower than the plugin writes. Lines wait there encoded, outside
 * the JS heap. Log lines also get a copy on stderr. What waits for the host is bounded: the
 * outbox (`OUTBOX_CAPACITY` lines), and stdout's own buffer, which is filled only up to its
 * high-water mark (plus the last write) before the writer waits for a drain.
 */
import { Chunk, Context, Deferred, Effect, Fiber, Layer, Mailbox, Option, Schema, Stream } from "effect"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { errorLine, notificationLine, resultLine, type RequestId } from "./JsonRpc.js"
import { Redactor } from "../secrets/Redactor.js"
import { LOGGER_NAME, Methods, type LogLevel } from "./HostProtocol.js"
import { watchStdout } from "./StdoutWatch.js"

/** stdout went away (closed pipe, EPIPE): the host is gone and the plugin stops. */
export class HostGone extends Schema.TaggedError<HostGone>()("HostGone", { message: Schema.String }) {}

/** The byte streams the protocol runs on: stdio in production, in-memory in tests. */
export class HostTransport extends Context.Tag("plexum-fabric/HostTransport")<HostTransport, {
  readonly input: Stream.Stream<Uint8Array>
  /** Writes lines already encoded (UTF-8); completes once the transport took them. */
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, HostGone>
  /**
   * Writes `text` at once and answers true when the transport can take it without waiting
   * (stdout under its high-water mark, not failed); else writes nothing and answers false.
   */
  readonly writeNow: (text: string) => boolean
  readonly diagnostic: (text: string) => void
}>() {
  static readonly Stdio = Layer.scoped(
    HostTransport,
    Effect.gen(function*() {
      // Without a listener an EPIPE on stdout is an uncaught exception; the write callback
      // below already reports it.
      const ignore = () => {}
      yield* Effect.acquireRelease(
        Effect.sync(() => process.stdout.on("error", ignore)),
        () => Effect.sync(() => process.stdout.off("error", ignore))
      )
      // A write completes once stdout took the text: at once while stdout's own buffer is under
      // its high-water mark (the usual case; no wait for the write's callback), else at its
      // "drain". A failed write fails the next one, or the wait under way.
      let failed: HostGone | undefined
      let wakeWaiter: (() => void) | undefined
      const onWritten = (error?: Error | null) => {
        if (error == null) return
        failed ??= new HostGone({ message: `stdout closed: ${error.message}` })
        wakeWaiter?.()
      }
      const write = (bytes: Uint8Array): Effect.Effect<void, HostGone> =>
        Effect.suspend(() => {
          if (failed !== undefined) return Effect.fail(failed)
          if (process.stdout.write(bytes, onWritten)) return Effect.void
          return Effect.async<void, HostGone>((resume) => {
            const wake = () => {
              wakeWaiter = undefined
              process.stdout.off("drain", wake)
              resume(failed === undefined ? Effect.void : Effect.fail(failed))
            }
            wakeWaiter = wake
            process.stdout.on("drain", wake)
            return Effect.sync(() => {
              wakeWaiter = undefined
              process.stdout.off("drain", wake)
            })
          })
        })
      const writeNow = (text: string): boolean => {
        if (failed !== undefined || process.stdout.writableNeedDrain) return false
        process.stdout.write(text, onWritten)
        return true
      }
      /** The probe of an idle stdout waits for its write's own answer: that is what it asks. */
      const probe = (text: string): Effect.Effect<void, HostGone> =>
        Effect.async<void, HostGone>((resume) => {
          process.stdout.write(text, (error) => {
            onWritten(error)
            resume(failed === undefined ? Effect.void : Effect.fail(failed))
          })
        })
      const diagnostic = (text: string) => {
        process.stderr.write(text)
      }
      // A stdout closed while the plugin is idle ends the input: the server stops as on EOF.
      const stdoutGone = yield* Deferred.make<void>()
      yield* watchStdout(probe).pipe(
        Effect.catchAll((error) =>
          Effect.sync(() => diagnostic(`[${LOGGER_NAME}] ${error.message}; stopping\n`)).pipe(
            Effect.zipRight(Deferred.succeed(stdoutGone, void 0))
          )
        ),
        Effect.forkScoped
      )
      return { input: NodeStream.stdin.pipe(Stream.interruptWhen(Deferred.await(stdoutGone))), write, writeNow, diagnostic }
    })
  )
}

const levelRank: Record<LogLevel, number> = { debug: 0, info: 1, notice: 2, warning: 3, error: 4 }

/**
 * How many lines may wait for the host before offering suspends (backpressure on inbound): a
 * host that stops reading holds at most this many lines here (about 10 MB of notifications);
 * the socket sessions then stop taking events, and drop their sockets when those back up too.
 */
export const OUTBOX_CAPACITY = 16_384
/** After a backed-up writer made sockets drop, they reconnect once the outbox is below this. */
const OUTBOX_LOW_WATER = OUTBOX_CAPACITY / 4
/**
 * Lines joined into one write at most. A backed-up outbox can hold thousands: joined whole they
 * made a string of megabytes, allocated in V8's large-object space (fresh pages, freed only by a
 * full collection) on every write; 64 notification lines stay an ordinary write of some 40 kB.
 */
const WRITE_LINES = 64

/**
 * A line as it waits in the outbox. A host that reads slower than a burst arrives leaves
 * thousands of lines waiting: as strings (each a rope of its parts) they were most of what the
 * young-generation collections of a burst copied, then promoted; as bytes they sit outside the
 * JS heap (small ones in Node's shared pool).
 */
const encode = (line: string): Uint8Array => Buffer.from(line)

/** Lines the writer may still flush after the outbox closed, on a graceful stop. */
const FLUSH_BUDGET = "1 second"

export class HostApi extends Effect.Service<HostApi>()("plexum-fabric/HostApi", {
  scoped: Effect.gen(function*() {
    const transport = yield* HostTransport
    const { redact } = yield* Redactor
    const outbox = yield* Mailbox.make<Uint8Array>({ capacity: OUTBOX_CAPACITY })
    const gone = yield* Deferred.make<void>()
    // Plain variables: the Logger that reads them is synchronous.
    let level: LogLevel = "info"
    // MCP: log notifications only once the host has initialized the session.
    let logToHost = false

    /**
     * Lines in the outbox or taken by the writer and not yet written. While any are, a line sent
     * queues behind them; counted down only once written, so no line can overtake them.
     */
    let unwritten = 0
    let closing = false

    const writer = yield* Effect.gen(function*() {
      while (true) {
        const [taken, done] = yield* outbox.takeAll
        const lines = Chunk.toReadonlyArray(taken)
        for (let from = 0; from < lines.length; from += WRITE_LINES) {
          const chunk = lines.slice(from, from + WRITE_LINES)
          yield* transport.write(chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk))
          unwritten -= chunk.length
        }
        if (done) return
      }
    }).pipe(
      Effect.catchAll((error) =>
        Effect.sync(() => transport.diagnostic(`[${LOGGER_NAME}] ${error.message}; stopping\n`)).pipe(
          Effect.zipRight(Deferred.succeed(gone, void 0))
        )
      ),
      Effect.forkScoped
    )
    // Runs before the fork's own finalizer (finalizers run in reverse): flush, then stop.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => void (closing = true)).pipe(
        // Nothing is written straight away any more: what was sent until now is flushed, in order.
        Effect.zipRight(outbox.end),
        Effect.zipRight(Fiber.await(writer).pipe(Effect.timeout(FLUSH_BUDGET), Effect.ignore)),
        Effect.zipRight(Fiber.interrupt(writer))
      )
    )

    const backlog = () => Option.getOrElse(outbox.unsafeSize(), () => 0)
    const awaitRoom: Effect.Effect<void> = Effect.suspend(() =>
      backlog() < OUTBOX_LOW_WATER ? Effect.void : Effect.zipRight(Effect.sleep("100 millis"), awaitRoom)
    )

    /** Straight to stdout when nothing waits before these lines and it takes them now. */
    const sentNow = (lines: ReadonlyArray<string>): boolean =>
      unwritten === 0 && !closing && lines.length <= WRITE_LINES && transport.writeNow(lines.join(""))

    /** Sends `lines` in order: at once, or through the outbox (suspending while it is full). */
    const send = (lines: ReadonlyArray<string>): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (sentNow(lines)) return Effect.void
        unwritten += lines.length
        return outbox.offerAll(lines.map(encode)).pipe(Effect.asVoid)
      })
    const offer = (line: string) => send([line])
    const notify = (method: string, params?: unknown) => offer(notificationLine(method, params))

    /** Synchronous, for the Logger: a log line never waits, and is dropped if the outbox is full. */
    const unsafeLog = (lvl: LogLevel, message: string, fields: Record<string, unknown>) => {
      if (levelRank[lvl] < levelRank[level]) return
      const data = { message, ...fields }
      transport.diagnostic(
        redact(`[${LOGGER_NAME}] ${lvl}: ${message}${Object.keys(fields).length ? " " + JSON.stringify(fields) : ""}\n`)
      )
      if (!logToHost) return
      const line = [redact(notificationLine(Methods.message, { level: lvl, logger: LOGGER_NAME, data }))]
      if (!sentNow(line) && outbox.unsafeOffer(encode(line[0]!))) unwritten += 1
    }

    return {
      // Answers quote Fabric's words (tool results, errors): a secret Fabric echoes stops here.
      respond: (id: RequestId, result: unknown) => offer(redact(resultLine(id, result))),
      respondError: (id: RequestId | null, code: number, message: string) => offer(redact(errorLine(id, code, message))),
      notify,
      /** Encoded inbound notification lines, in order, in one send (suspends while the outbox is full). */
      inboundLines: send,
      /** Completes once the host has read the outbox down to a quarter (at once when it is). */
      awaitRoom,
      setLevel: (lvl: LogLevel) =>
        Effect.sync(() => {
          level = lvl
        }),
      /** From now on log lines also go to the host as `notifications/message`. */
      openLogging: Effect.sync(() => {
        logToHost = true
      }),
      unsafeLog,
      /** Completes when stdout is gone. */
      gone: Deferred.await(gone)
    }
  })
}) {}
