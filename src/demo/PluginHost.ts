/**
 * A small Plexum host: starts the built plugin as a subprocess and speaks the host protocol to
 * it over stdio (requests with ids, replies matched to them, notifications). The subprocess
 * and the fibers reading it live in the caller's scope; a plugin still running when the scope
 * closes is killed.
 */
import { Command } from "@effect/platform"
import { Clock, Deferred, Duration, Effect, Queue, Ref, Schema, Stream } from "effect"
import { Inbound, Methods } from "../host/HostProtocol.js"

export class HostError extends Schema.TaggedError<HostError>()("HostError", {
  message: Schema.String
}) {}

/** An inbound notification and when the host read it (epoch ms, fractional). */
export interface TimedInbound {
  readonly inbound: Inbound
  readonly receivedAt: number
}

/** How long a request may wait for its reply. */
export const REQUEST_TIMEOUT = Duration.seconds(15)
/** The host protocol gives the plugin 5 s for a graceful stop. */
export const STOP_TIMEOUT = Duration.seconds(5)
const STDERR_TAIL_LINES = 40

export const nowMs = Effect.map(Clock.currentTimeNanos, (nanos) => Number(nanos) / 1e6)

const decodeInbound = Schema.decodeUnknownEither(Inbound)

interface Reply {
  readonly result?: unknown
  readonly error?: { readonly code: number; readonly message: string }
}

export const startPluginHost = (options: { readonly pluginBin: string; readonly profileRoot: string }) =>
  Effect.gen(function*() {
    const proc = yield* Command.make(process.execPath, options.pluginBin).pipe(
      Command.env({ PLEXUM_PROFILE_ROOT: options.profileRoot }),
      Command.start
    )
    const pending = new Map<number, Deferred.Deferred<Reply>>()
    const inbound = yield* Queue.unbounded<TimedInbound>()
    const outgoing = yield* Queue.unbounded<string>()
    const stderrTail = yield* Ref.make<ReadonlyArray<string>>([])
    const nextId = yield* Ref.make(1)

    const onLine = Effect.fnUntraced(function*(line: string) {
      if (line.trim() === "") return
      const receivedAt = yield* nowMs
      let message: { readonly id?: unknown; readonly method?: unknown; readonly params?: unknown } & Reply
      try {
        message = JSON.parse(line)
      } catch {
        return yield* Ref.update(stderrTail, (tail) => [...tail, `(not JSON on stdout) ${line}`].slice(-STDERR_TAIL_LINES))
      }
      if (typeof message.id === "number" && message.method === undefined) {
        const waiter = pending.get(message.id)
        pending.delete(message.id)
        if (waiter) yield* Deferred.succeed(waiter, message)
        return
      }
      if (message.method === Methods.inbound) {
        const decoded = decodeInbound(message.params)
        if (decoded._tag === "Right") yield* Queue.offer(inbound, { inbound: decoded.right, receivedAt })
      }
    })

    const encoder = new TextEncoder()
    yield* Stream.fromQueue(outgoing).pipe(Stream.map((line) => encoder.encode(line)), Stream.run(proc.stdin), Effect.forkScoped)
    yield* proc.stdout.pipe(Stream.decodeText(), Stream.splitLines, Stream.runForEach(onLine), Effect.forkScoped)
    yield* proc.stderr.pipe(
      Stream.decodeText(),
      Stream.splitLines,
      Stream.runForEach((line) => Ref.update(stderrTail, (tail) => [...tail, line].slice(-STDERR_TAIL_LINES))),
      Effect.forkScoped
    )

    const stderr = Effect.map(Ref.get(stderrTail), (lines) => lines.join("\n"))

    /** The result of a request; a JSON-RPC error or no reply in time is a `HostError`. */
    const request = (method: string, params?: unknown) =>
      Effect.gen(function*() {
        const id = yield* Ref.getAndUpdate(nextId, (n) => n + 1)
        const waiter = yield* Deferred.make<Reply>()
        pending.set(id, waiter)
        yield* Queue.offer(outgoing, JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n")
        const reply = yield* Deferred.await(waiter).pipe(
          Effect.timeoutFail({
            duration: REQUEST_TIMEOUT,
            onTimeout: () => new HostError({ message: `the plugin did not answer ${method} within ${Duration.format(REQUEST_TIMEOUT)}` })
          }),
          Effect.ensuring(Effect.sync(() => pending.delete(id)))
        )
        if (reply.error) {
          return yield* new HostError({ message: `${method} failed (${reply.error.code}): ${reply.error.message}` })
        }
        return reply.result
      })

    const notify = (method: string, params?: unknown) =>
      Queue.offer(outgoing, JSON.stringify({ jsonrpc: "2.0", method, params }) + "\n")

    /** `shutdown`, then the plugin's exit status, which must come within the protocol's 5 s. */
    const shutdown = Effect.gen(function*() {
      yield* request(Methods.shutdown)
      return yield* proc.exitCode.pipe(
        Effect.timeoutFail({
          duration: STOP_TIMEOUT,
          onTimeout: () => new HostError({ message: `the plugin did not exit within ${Duration.format(STOP_TIMEOUT)} of shutdown` })
        }),
        Effect.mapError((e) => e._tag === "HostError" ? e : new HostError({ message: `cannot read the plugin's exit status: ${e.message}` }))
      )
    })

    return { pid: proc.pid, request, notify, inbound, shutdown, stderr } as const
  })

export type PluginHost = Effect.Effect.Success<ReturnType<typeof startPluginHost>>
