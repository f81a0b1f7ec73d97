/**
 * HostApi's writer: lines reach the transport in the order they were offered, however many
 * wait at once, in writes of a bounded number of lines (a backed-up outbox joined whole made a
 * string of megabytes per write).
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Layer, Stream } from "effect"
import { HostApi, HostTransport } from "../../src/host/HostApi.js"

describe("HostApi writer", () => {
  it.scoped("writes a large backlog in order, in writes of at most 64 lines", () =>
    Effect.gen(function*() {
      const writes: Array<Array<string>> = []
      const total = 150
      const allWritten = yield* Deferred.make<void>()
      const transport = Layer.succeed(HostTransport, {
        input: Stream.never,
        write: (text: string) =>
          Effect.sync(() => {
            writes.push(text.split("\n").filter((line) => line.length > 0))
            if (writes.flat().length === total) Deferred.unsafeDone(allWritten, Effect.void)
          }),
        diagnostic: () => {}
      })
      const host = Context.get(yield* Layer.build(HostApi.Default.pipe(Layer.provide(transport))), HostApi)
      const lines = Array.from({ length: total }, (_, i) => `{"n":${i}}\n`)
      yield* host.inboundLines(lines)
      yield* Deferred.await(allWritten)
      expect(writes.flat()).toEqual(lines.map((line) => line.trimEnd()))
      expect(writes.map((write) => write.length)).toEqual([64, 64, 22])
    }))
})
