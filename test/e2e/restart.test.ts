/**
 * Durable delivery state (profile.md v1.1) end to end: the built plugin over real stdio against
 * the sim, stopped and started again on the same profile. Messages posted while it was not
 * running are delivered after the restart: exactly once after a graceful stop, at least once
 * after a crash (kill -9).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Schedule } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Sim } from "../../src/sim/Sim.js"
import { binding, initializeParams, makeProfile, sessionsLive, startPlugin } from "./harness.js"

const DOWN_POSTS = 30

const world = Effect.gen(function*() {
  const sim = yield* Sim.start()
  const guild = yield* sim.createGuild({ name: "Acme" })
  const alice = yield* sim.createUser({ display_name: "Alice" })
  const scout = yield* sim.createAgent({ display_name: "Scout" })
  for (const user of [alice, scout]) yield* sim.addMember(guild.node_id, user.id)
  const dm = yield* sim.openDm(guild.node_id, alice.id, scout.id)
  const root = yield* makeProfile({
    config: { center_api_base: sim.centerApiBase },
    agents: { scout: { apiKey: Redacted.value(scout.api_key) } },
    bindings: { "scout-dm": binding("scout", guild.node_id, dm.id) }
  })
  const post = (text: string) => sim.postMessage(guild.node_id, dm.id, { author_id: alice.id, content: text })
  /** A plugin started on the profile, initialized, its socket connected. */
  const start = Effect.gen(function*() {
    const plugin = yield* startPlugin({ profileRoot: root })
    yield* plugin.call("initialize", initializeParams)
    yield* plugin.notify("notifications/initialized")
    yield* sessionsLive(plugin)
    return plugin
  })
  const delivered = (plugin: Effect.Effect.Success<typeof start>) =>
    Effect.map(plugin.inbound, (all) => all.map((i: any) => i.message as string))
  return { post, root, start, delivered }
})

describe("durable delivery state over stdio", () => {
  it.scopedLive("after a graceful stop, what was posted while down is delivered after the restart, exactly once", () =>
    Effect.gen(function*() {
      const { delivered, post, start } = yield* world
      const first = yield* start
      yield* post("before")
      yield* first.waitFor((m) => m.params?.message === "before")
      yield* first.closeStdin
      expect(yield* first.exited()).toEqual({ code: 0, signal: null })

      for (let i = 0; i < DOWN_POSTS; i++) yield* post(`while down ${i}`)
      const second = yield* start
      yield* post("after")
      yield* second.waitFor((m) => m.params?.message === "after")
      expect(yield* delivered(second)).toEqual([...Array.from({ length: DOWN_POSTS }, (_, i) => `while down ${i}`), "after"])
    }), 60_000)

  it.scopedLive("after kill -9, nothing posted while down is lost", () =>
    Effect.gen(function*() {
      const { delivered, post, root, start } = yield* world
      const first = yield* start
      const before = yield* post("before")
      yield* first.waitFor((m) => m.params?.message === "before")
      // The cursor is saved within a second of moving: wait for that save, then crash.
      yield* Effect.try(() => readFileSync(join(root, "plugins/plexum-fabric-channel/state/cursors.json"), "utf8")).pipe(
        Effect.filterOrFail((text) => text.includes(before.id)),
        Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("5 seconds")))
      )
      yield* first.kill("SIGKILL")
      yield* first.exited()

      for (let i = 0; i < DOWN_POSTS; i++) yield* post(`while down ${i}`)
      const second = yield* start
      yield* post("after")
      yield* second.waitFor((m) => m.params?.message === "after")
      const got = yield* delivered(second)
      for (let i = 0; i < DOWN_POSTS; i++) expect(got.filter((m) => m === `while down ${i}`)).toHaveLength(1)
      expect(got.filter((m) => m === "before").length).toBeLessThanOrEqual(1)
    }), 60_000)
})
