import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Dedup } from "../../src/inbound/Dedup.js"
import { IdRing } from "../../src/inbound/IdRing.js"
import { ActiveProfile, defaultConfig } from "../../src/profile/ProfileSchema.js"

const withCapacity = (dedup_capacity: number) =>
  Dedup.Default.pipe(
    Layer.provide(Layer.succeed(ActiveProfile, { root: "profile", config: { ...defaultConfig, dedup_capacity }, identities: new Map(), bindings: [] }))
  )

describe("IdRing", () => {
  it("remembers an id once per scope", () => {
    const ring = new IdRing(10)
    const g1 = ring.scope("g_1")
    expect(g1.add("m_1")).toBe(true)
    expect(g1.add("m_1")).toBe(false)
    expect(ring.scope("g_1").has("m_1")).toBe(true)
    expect(g1.has("m_2")).toBe(false)
    // Ids are unique per guild node only: the same id in another scope is another message.
    expect(ring.scope("g_2").add("m_1")).toBe(true)
  })

  it("remembers at most its capacity, forgetting the oldest first, over many turns of the ring", () => {
    const ring = new IdRing(3)
    const g1 = ring.scope("g_1")
    for (let i = 1; i <= 1000; i++) expect(g1.add(`m_${i}`)).toBe(true)
    expect(["m_997", "m_998", "m_999", "m_1000"].map((id) => g1.has(id))).toEqual([false, true, true, true])
  })

  it("remembers which ids were delivered, in the same entry as their sighting", () => {
    const ring = new IdRing(3)
    const g1 = ring.scope("g_1")
    g1.add("m_1")
    expect(g1.wasDelivered("m_1")).toBe(false)
    g1.addDelivered("m_1")
    // An id delivered without being added first (an edit) is seen too.
    g1.addDelivered("m_2")
    expect([g1.wasDelivered("m_1"), g1.add("m_2"), g1.wasDelivered("m_2")]).toEqual([true, false, true])
    // Marking m_1 delivered took no place of its own: two more ids forget m_1 only.
    g1.add("m_3")
    g1.add("m_4")
    expect([g1.has("m_1"), g1.wasDelivered("m_1"), g1.has("m_2"), g1.wasDelivered("m_2")]).toEqual([false, false, true, true])
  })

  it("shares its capacity between scopes, forgetting the oldest whatever its scope", () => {
    const ring = new IdRing(3)
    const [g1, g2] = [ring.scope("g_1"), ring.scope("g_2")]
    g1.add("m_1")
    g2.add("m_2")
    g1.add("m_3")
    g2.add("m_4")
    expect([g1.has("m_1"), g2.has("m_2"), g1.has("m_3"), g2.has("m_4")]).toEqual([false, true, true, true])
    g2.add("m_5")
    expect([g2.has("m_2"), g1.has("m_3"), g2.has("m_4"), g2.has("m_5")]).toEqual([false, true, true, true])
  })
})

describe("Dedup", () => {
  it.effect("keeps one memory per agent, by guild and message, bounded by dedup_capacity per agent", () =>
    Effect.gen(function*() {
      const dedup = yield* Dedup
      const a1 = dedup.memoryOf("a1", "g_1")
      expect(a1.add("m_1")).toBe(true)
      expect(dedup.memoryOf("a1", "g_1").add("m_1")).toBe(false)
      // Another agent sees the same message on its own socket; ids are unique per guild only.
      expect(dedup.memoryOf("a2", "g_1").add("m_1")).toBe(true)
      expect(dedup.memoryOf("a1", "g_2").add("m_1")).toBe(true)
      // The capacity (7) is the agent's, across its guilds: 1 + 1 + 6 more forget a1's first.
      for (let i = 2; i <= 7; i++) a1.add(`m_${i}`)
      expect([a1.has("m_1"), a1.has("m_2")]).toEqual([false, true])
      expect(a1.wasDelivered("m_1")).toBe(false)
    }).pipe(Effect.provide(withCapacity(7))))
})
