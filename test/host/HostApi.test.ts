/**
 * HostApi's writer: lines reach the transport in the order they were sent, however many wait at
 * once, in writes of a bounded number of lines (a backed-up outbox joined whole made a string of
 * megabytes per write); a line is written at once only when nothing waits before it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Layer, Stream } from "effect"
import { HostApi, HostTransport } from "../../src/host/HostApi.js"
import { writtenLines, writtenText } from "../support/hostWrites.js"

describe("HostApi writer", () => {
  it.scoped("writes a large backlog in order, in writes of at most 64 lines", () =>
    Effect.gen(function*() {
      const writes: Array<Array<string>> = []
      const total = 150
      const allWritten = yield* Deferred.make<void>()
      const transport = Layer.succeed(HostTransport, {
        input: Stream.never,
        write: (bytes: Uint8Array) =>
          Effect.sync(() => {
            writes.push(writtenLines(bytes))
            if (writes.flat().length === total) Deferred.unsafeDone(allWritten, Effect.void)
          }),
        // Every line goes through the writer fiber.
        writeNow: () => false,
        diagnostic: () => {}
      })
      const host = Context.get(yield* Layer.build(HostApi.Default.pipe(Layer.provide(transport))), HostApi)
      const lines = Array.from({ length: total }, (_, i) => `{"n":${i}}\n`)
      yield* host.inboundLines(lines)
      yield* Deferred.await(allWritten)
      expect(writes.flat()).toEqual(lines.map((line) => line.trimEnd()))
      expect(writes.map((write) => write.length)).toEqual([64, 64, 22])
    }))

  it.scoped("writes a line at once only when nothing waits before it", () =>
    Effect.gen(function*() {
      // stdout as the transport sees it: `ready` while under its high-water mark; a queued
      // write completes when `drained` opens.
      let ready = true
      const drained = yield* Deferred.make<void>()
      const writing = yield* Deferred.make<void>()
      const threeWritten = yield* Deferred.make<void>()
      const written: Array<[via: "now" | "writer", line: string]> = []
      const transport = Layer.succeed(HostTransport, {
        input: Stream.never,
        write: (bytes: Uint8Array) =>
          Effect.zipRight(
            Effect.zipRight(Deferred.succeed(writing, void 0), Deferred.await(drained)),
            Effect.sync(() => {
              if (written.push(["writer", writtenText(bytes)]) === 3) Deferred.unsafeDone(threeWritten, Effect.void)
            })
          ),
        writeNow: (text: string) => {
          if (!ready) return false
          written.push(["now", text])
          return true
        },
        diagnostic: () => {}
      })
      const host = Context.get(yield* Layer.build(HostApi.Default.pipe(Layer.provide(transport))), HostApi)

      yield* host.inboundLines(["a\n"])
      expect(written).toEqual([["now", "a\n"]])

      ready = false
      yield* host.inboundLines(["b\n"])
      yield* Deferred.await(writing)
      // stdout takes writes again, but b is not written yet: c waits behind it.
      ready = true
      yield* host.inboundLines(["c\n"])
      expect(written).toEqual([["now", "a\n"]])

      yield* Deferred.succeed(drained, void 0)
      yield* Deferred.await(threeWritten)
      expect(written).toEqual([["now", "a\n"], ["writer", "b\n"], ["writer", "c\n"]])

      yield* host.inboundLines(["d\n"])
      expect(written.at(-1)).toEqual(["now", "d\n"])
    }))
})
