/**
 * Per-channel serial delivery with idle drain, under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Layer, TestClock } from "effect"
import { ChannelQueue, queueKey } from "../../src/inbound/ChannelQueue.js"
import { recordingRegistry, testProfile } from "./fakes.js"

const IDLE_SECONDS = 5

const setup = () => {
  const registry = recordingRegistry()
  const layer = ChannelQueue.Default.pipe(Layer.provide([registry.layer, testProfile({ config: { queue_idle_seconds: IDLE_SECONDS } })]))
  const workers = () => registry.ofKind("channel_worker").map((f) => f.channel_id)
  return { layer, workers }
}

/** Lets forked workers run until nothing is left to do at the current instant. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("ChannelQueue", () => {
  it.scoped("delivers a channel's jobs in order, one at a time", () => {
    const { layer, workers } = setup()
    return Effect.gen(function*() {
      const queue = yield* ChannelQueue
      const log: Array<string> = []
      const gate = yield* Deferred.make<void>()
      yield* queue.offer(queueKey("a1", "c_1"), Deferred.await(gate).pipe(Effect.zipRight(Effect.sync(() => log.push("first")))))
      for (let i = 2; i <= 30; i++) yield* queue.offer(queueKey("a1", "c_1"), Effect.sync(() => log.push(`m${i}`)))
      yield* settle
      expect(log).toEqual([])
      expect(workers()).toEqual(["c_1"])
      yield* Deferred.succeed(gate, void 0)
      yield* settle
      expect(log).toEqual(["first", ...Array.from({ length: 29 }, (_, i) => `m${i + 2}`)])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("channels are independent: a stuck channel does not hold up another", () => {
    const { layer, workers } = setup()
    return Effect.gen(function*() {
      const queue = yield* ChannelQueue
      const log: Array<string> = []
      yield* queue.offer(queueKey("a1", "c_stuck"), Effect.never)
      yield* queue.offer(queueKey("a1", "c_2"), Effect.sync(() => log.push("c_2")))
      // Same channel id, another agent: its own worker.
      yield* queue.offer(queueKey("a2", "c_stuck"), Effect.sync(() => log.push("a2")))
      yield* settle
      expect(log.sort()).toEqual(["a2", "c_2"])
      expect(workers().sort()).toEqual(["c_2", "c_stuck", "c_stuck"])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("a worker ends queue_idle_seconds after its last job, and comes back on demand", () => {
    const { layer, workers } = setup()
    return Effect.gen(function*() {
      const queue = yield* ChannelQueue
      const log: Array<string> = []
      yield* queue.offer(queueKey("a1", "c_1"), Effect.sync(() => log.push("one")))
      yield* settle
      yield* TestClock.adjust(Duration.seconds(IDLE_SECONDS - 1))
      yield* settle
      expect(workers()).toEqual(["c_1"])
      yield* TestClock.adjust(Duration.seconds(1))
      yield* settle
      expect(workers()).toEqual([])
      yield* queue.offer(queueKey("a1", "c_1"), Effect.sync(() => log.push("two")))
      yield* settle
      expect(log).toEqual(["one", "two"])
      expect(workers()).toEqual(["c_1"])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("a job accepted just before the idle timeout is delivered, however long it takes", () => {
    const { layer, workers } = setup()
    return Effect.gen(function*() {
      const queue = yield* ChannelQueue
      const log: Array<string> = []
      yield* queue.offer(queueKey("a1", "c_1"), Effect.sync(() => log.push("one")))
      yield* settle
      yield* TestClock.adjust(Duration.millis(IDLE_SECONDS * 1000 - 1))
      const slow = yield* Deferred.make<void>()
      yield* queue.offer(queueKey("a1", "c_1"), Deferred.await(slow).pipe(Effect.zipRight(Effect.sync(() => log.push("slow")))))
      yield* queue.offer(queueKey("a1", "c_1"), Effect.sync(() => log.push("after")))
      // Far past the idle timeout while the slow job is still under way.
      yield* TestClock.adjust(Duration.seconds(IDLE_SECONDS * 10))
      yield* settle
      expect(workers()).toEqual(["c_1"])
      yield* Deferred.succeed(slow, void 0)
      yield* settle
      expect(log).toEqual(["one", "slow", "after"])
      yield* TestClock.adjust(Duration.seconds(IDLE_SECONDS))
      yield* settle
      expect(workers()).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("a job that dies is logged and the channel goes on", () => {
    const { layer } = setup()
    return Effect.gen(function*() {
      const queue = yield* ChannelQueue
      const done = yield* Deferred.make<void>()
      yield* queue.offer(queueKey("a1", "c_1"), Effect.dieMessage("boom"))
      yield* queue.offer(queueKey("a1", "c_1"), Deferred.succeed(done, void 0))
      yield* Deferred.await(done).pipe(Effect.timeout("1 second"), Effect.fork, Effect.flatMap(Fiber.join))
    }).pipe(Effect.provide(layer))
  })
})
