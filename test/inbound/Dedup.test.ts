import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Dedup, memoryKey } from "../../src/inbound/Dedup.js"
import { IdRing } from "../../src/inbound/IdRing.js"
import { ActiveProfile, defaultConfig } from "../../src/profile/ProfileSchema.js"

const withCapacity = (dedup_capacity: number) =>
  Dedup.Default.pipe(
    Layer.provide(Layer.succeed(ActiveProfile, { root: "profile", config: { ...defaultConfig, dedup_capacity }, identities: new Map(), bindings: [] }))
  )

describe("IdRing", () => {
  it("remembers an id once", () => {
    const ring = new IdRing(10)
    expect(ring.add("m_1")).toBe(true)
    expect(ring.add("m_1")).toBe(false)
    expect(ring.has("m_1")).toBe(true)
    expect(ring.has("m_2")).toBe(false)
  })

  it("remembers at most its capacity, forgetting the oldest first, over many turns of the ring", () => {
    const ring = new IdRing(3)
    for (let i = 1; i <= 1000; i++) expect(ring.add(`m_${i}`)).toBe(true)
    expect(["m_997", "m_998", "m_999", "m_1000"].map((id) => ring.has(id))).toEqual([false, true, true, true])
  })
})

describe("Dedup", () => {
  it.effect("keeps one memory per agent, keyed by guild and message", () =>
    Effect.gen(function*() {
      const dedup = yield* Dedup
      const a1 = dedup.memoryOf("a1")
      expect(dedup.memoryOf("a1")).toBe(a1)
      expect(a1.seen.add(memoryKey("g_1", "m_1"))).toBe(true)
      expect(a1.seen.add(memoryKey("g_1", "m_1"))).toBe(false)
      // Another agent sees the same message on its own socket; ids are unique per guild only.
      expect(dedup.memoryOf("a2").seen.add(memoryKey("g_1", "m_1"))).toBe(true)
      expect(a1.seen.add(memoryKey("g_2", "m_1"))).toBe(true)
      expect(a1.seen.capacity).toBe(7)
      expect(a1.delivered.capacity).toBe(7)
    }).pipe(Effect.provide(withCapacity(7))))
})
