import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Dedup } from "../../src/inbound/Dedup.js"
import { ActiveProfile, defaultConfig } from "../../src/profile/ProfileSchema.js"

const withCapacity = (dedup_capacity: number) =>
  Dedup.Default.pipe(
    Layer.provide(Layer.succeed(ActiveProfile, { root: "profile", config: { ...defaultConfig, dedup_capacity }, identities: new Map(), bindings: [] }))
  )

describe("Dedup", () => {
  it.effect("passes a message once per agent", () =>
    Effect.gen(function*() {
      const dedup = yield* Dedup
      expect(yield* dedup.firstSeen("a1", "g_1", "m_1")).toBe(true)
      expect(yield* dedup.firstSeen("a1", "g_1", "m_1")).toBe(false)
      // Another agent sees the same message on its own socket.
      expect(yield* dedup.firstSeen("a2", "g_1", "m_1")).toBe(true)
      // Ids are only unique within a guild node.
      expect(yield* dedup.firstSeen("a1", "g_2", "m_1")).toBe(true)
    }).pipe(Effect.provide(withCapacity(10))))

  it.effect("remembers at most dedup_capacity ids per agent, forgetting the oldest first", () =>
    Effect.gen(function*() {
      const dedup = yield* Dedup
      for (const id of ["m_1", "m_2", "m_3"]) expect(yield* dedup.firstSeen("a1", "g_1", id)).toBe(true)
      // m_4 evicts m_1.
      expect(yield* dedup.firstSeen("a1", "g_1", "m_4")).toBe(true)
      expect(yield* dedup.firstSeen("a1", "g_1", "m_2")).toBe(false)
      expect(yield* dedup.firstSeen("a1", "g_1", "m_3")).toBe(false)
      expect(yield* dedup.firstSeen("a1", "g_1", "m_4")).toBe(false)
      // Seen again after eviction: passes (and evicts m_2).
      expect(yield* dedup.firstSeen("a1", "g_1", "m_1")).toBe(true)
      expect(yield* dedup.firstSeen("a1", "g_1", "m_2")).toBe(true)
      // Another agent's ids do not count against a1's capacity.
      for (const id of ["x_1", "x_2", "x_3", "x_4"]) yield* dedup.firstSeen("a2", "g_1", id)
      expect(yield* dedup.firstSeen("a1", "g_1", "m_1")).toBe(false)
    }).pipe(Effect.provide(withCapacity(3))))
})
