/**
 * Progress (used by the doctor and the demo): plain lines off a terminal, a spinner that
 * redraws on the clock on a terminal, erased when the step ends.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref, TestClock } from "effect"
import { makeProgress } from "../../src/cli/Progress.js"

const recorder = (tty: boolean) => {
  const written: Array<string> = []
  return { written, sink: { tty, write: (text: string) => Effect.sync(() => void written.push(text)) } }
}

describe("Progress", () => {
  it.effect("off a terminal: a line when a step starts and one when it ends", () =>
    Effect.gen(function*() {
      const { sink, written } = recorder(false)
      const progress = yield* makeProgress(sink)
      const value = yield* progress.step("starting the sim", Effect.as(TestClock.adjust("1500 millis"), 42))
      expect(value).toBe(42)
      expect(written).toEqual(["… starting the sim\n", "✓ starting the sim (1.5 s)\n"])
    }))

  it.effect("a failed step is marked ✗ and its error goes on; a transient step writes no end line", () =>
    Effect.gen(function*() {
      const { sink, written } = recorder(false)
      const progress = yield* makeProgress(sink)
      const error = yield* Effect.flip(progress.step("logging in", Effect.fail("refused")))
      expect(error).toBe("refused")
      yield* progress.step("checking", Effect.void, { transient: true })
      expect(written).toEqual(["… logging in\n", "✗ logging in (0 ms)\n", "… checking\n"])
    }))

  it.scoped("on a terminal: a spinner redrawn every 80 ms, erased at the end", () =>
    Effect.gen(function*() {
      const { sink, written } = recorder(true)
      const progress = yield* makeProgress(sink)
      const gate = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(progress.step("waiting for the socket", Deferred.await(gate)))
      yield* TestClock.adjust("200 millis")
      const frames = written.filter((w) => w.includes("waiting for the socket ("))
      expect(frames.length).toBe(3) // at 0, 80 and 160 ms
      expect(frames[2]).toContain("⠹ waiting for the socket (160 ms)")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(fiber)
      expect(written.slice(-2)).toEqual(["\r\x1b[2K", "✓ waiting for the socket (200 ms)\n"])
      const count = written.length
      yield* TestClock.adjust("1 second")
      expect(written.length).toBe(count) // the spinner stopped with its step
    }))

  it.scoped("on a terminal: a line written during a step erases the spinner first", () =>
    Effect.gen(function*() {
      const { sink, written } = recorder(true)
      const progress = yield* makeProgress(sink)
      yield* progress.step("transient", Effect.zipRight(Effect.yieldNow(), progress.line("a note")), { transient: true })
      expect(written).toEqual([expect.stringContaining("⠋ transient"), "\r\x1b[2K", "a note\n"])
    }))
  it.scoped("a resource acquired in a step belongs to the caller's scope, on a terminal or not", () =>
    Effect.gen(function*() {
      for (const tty of [true, false]) {
        const progress = yield* makeProgress(recorder(tty).sink)
        const released = yield* Ref.make(false)
        yield* progress.step("starting the sim", Effect.acquireRelease(Effect.void, () => Ref.set(released, true)))
        expect(yield* Ref.get(released)).toBe(false)
      }
    }))
})
