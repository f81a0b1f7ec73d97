/**
 * The durable cursor store against a real temporary profile directory: round trip across two
 * runs, a missing folder, an unreadable file, and (under TestClock) when it writes.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, LogLevel, Option, TestClock, TestServices } from "effect"
import { CURSORS_FILE, CursorStore, STATE_DIR } from "../../src/inbound/CursorStore.js"
import { ActiveProfile, defaultConfig } from "../../src/profile/ProfileSchema.js"
import { captureLogs, tempProfile, writeProfileFiles } from "../profile/tempProfile.js"

const storeLayer = (root: string) =>
  CursorStore.Default.pipe(
    Layer.provide(Layer.succeed(ActiveProfile, { root, config: defaultConfig, identities: new Map(), bindings: [] }))
  )

/** One run of the plugin: the store opens, `use` runs, then the store stops gracefully. */
const run = <A, E, R>(root: string, use: (store: CursorStore) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(CursorStore, use).pipe(Effect.provide(storeLayer(root)))

const a1 = { agentId: "agent-a", guildNodeId: "node-1", channelId: "c1" }
const a2 = { agentId: "agent-a", guildNodeId: "node-1", channelId: "c2" }
const b1 = { agentId: "agent-b", guildNodeId: "node-2", channelId: "c1" }

/** The file as saved, or None while there is none. */
const saved = (root: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const text = yield* Effect.option(fs.readFileString(path.join(root, CURSORS_FILE)))
    return Option.map(text, (t) => JSON.parse(t) as { version: number; cursors: Record<string, Record<string, Record<string, string>>> })
  })

/** Waits (real time, up to 5 s) until the saved file satisfies `check`: a write is real I/O. */
const eventuallySaved = (root: string, check: (cursors: Record<string, Record<string, Record<string, string>>>) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1_000; i++) {
      const file = yield* saved(root)
      if (Option.isSome(file) && check(file.value.cursors)) return file.value.cursors
      yield* TestServices.provideLive(Effect.sleep("5 millis"))
    }
    return yield* Effect.dieMessage(`${CURSORS_FILE} never reached the expected content`)
  })

describe("CursorStore", () => {
  it.scoped("keeps every cursor across a graceful stop and a new start", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      yield* run(root, (store) =>
        Effect.gen(function*() {
          yield* store.set(a1, "m-10")
          yield* store.set(a2, "m-20")
          yield* store.set(b1, "m-30")
          yield* store.set(a1, "m-11")
          expect(yield* store.get(a1)).toEqual(Option.some("m-11"))
        }))
      // The stop saved it; the format is nested per agent, guild node and channel.
      const file = yield* saved(root)
      expect(file).toEqual(Option.some({
        version: 1,
        cursors: { "agent-a": { "node-1": { c1: "m-11", c2: "m-20" } }, "agent-b": { "node-2": { c1: "m-30" } } }
      }))
      const reread = yield* run(root, (store) =>
        Effect.all([store.get(a1), store.get(a2), store.get(b1), store.get({ ...b1, channelId: "c9" })]))
      expect(reread).toEqual([Option.some("m-11"), Option.some("m-20"), Option.some("m-30"), Option.none()])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("starts empty and quietly without a state folder, and creates it on the first save", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const { messages, result } = yield* captureLogs(run(root, (store) => Effect.tap(store.get(a1), () => store.set(a1, "m-1"))), LogLevel.Warning)
      expect(result).toEqual(Option.none())
      expect(messages).toEqual([])
      expect(yield* fs.exists(path.join(root, STATE_DIR))).toBe(true)
      expect(Option.map(yield* saved(root), (f) => f.cursors)).toEqual(Option.some({ "agent-a": { "node-1": { c1: "m-1" } } }))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a stop with nothing recorded writes no file", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      yield* run(root, (store) => store.get(a1))
      expect(yield* saved(root)).toEqual(Option.none())
    }).pipe(Effect.provide(NodeContext.layer)))

  for (
    const [what, content] of [
      ["not JSON", "{\"version\": 1, \"cursors\": {"],
      ["another version", JSON.stringify({ version: 2, cursors: {} })],
      ["a cursor that is not a string", JSON.stringify({ version: 1, cursors: { a: { n: { c: 5 } } } })]
    ] as const
  ) {
    it.scoped(`a file holding ${what} is one warning naming it, a first run, then a good file`, () =>
      Effect.gen(function*() {
        const root = yield* tempProfile()
        yield* writeProfileFiles(root, { [CURSORS_FILE]: content })
        const { messages, result } = yield* captureLogs(
          run(root, (store) => Effect.tap(store.get(a1), () => store.set(a1, "m-2"))),
          LogLevel.Warning
        )
        expect(result).toEqual(Option.none())
        expect(messages).toHaveLength(1)
        expect(messages[0]).toContain(CURSORS_FILE)
        expect(messages[0]).toContain("first run")
        expect(messages[0]).toContain(`deleting the ${STATE_DIR} folder is always safe`)
        // The next save replaced it with a readable state.
        const reread = yield* captureLogs(run(root, (store) => store.get(a1)), LogLevel.Warning)
        expect(reread).toEqual({ result: Option.some("m-2"), messages: [] })
      }).pipe(Effect.provide(NodeContext.layer)))
  }

  it.scoped("a state path that is a folder is one warning, then the plugin runs on", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      yield* fs.makeDirectory(path.join(root, CURSORS_FILE), { recursive: true })
      const { messages } = yield* captureLogs(run(root, (store) => store.get(a1)), LogLevel.Warning)
      expect(messages).toHaveLength(1)
      expect(messages[0]).toContain(CURSORS_FILE)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("saves at most once a second while cursors change, and the rest at stop", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      yield* run(root, (store) =>
        Effect.gen(function*() {
          yield* store.set(a1, "m-1")
          // No fiber wakes before the second is over: nothing can have been written.
          yield* TestClock.adjust("999 millis")
          expect(yield* saved(root)).toEqual(Option.none())
          yield* TestClock.adjust("1 millis")
          yield* eventuallySaved(root, (c) => c["agent-a"]?.["node-1"]?.c1 === "m-1")

          // Changes at 1.2 s wait for the save at 2 s.
          yield* TestClock.adjust("200 millis")
          yield* store.set(a1, "m-2")
          yield* store.set(b1, "m-9")
          yield* TestClock.adjust("799 millis")
          expect(Option.map(yield* saved(root), (f) => f.cursors)).toEqual(Option.some({ "agent-a": { "node-1": { c1: "m-1" } } }))
          yield* TestClock.adjust("1 millis")
          yield* eventuallySaved(root, (c) => c["agent-a"]?.["node-1"]?.c1 === "m-2" && c["agent-b"]?.["node-2"]?.c1 === "m-9")

          // A change half a second before a graceful stop is not lost.
          yield* TestClock.adjust("500 millis")
          yield* store.set(a2, "m-3")
        }))
      expect(Option.map(yield* saved(root), (f) => f.cursors)).toEqual(Option.some({
        "agent-a": { "node-1": { c1: "m-2", c2: "m-3" } },
        "agent-b": { "node-2": { c1: "m-9" } }
      }))
    }).pipe(Effect.provide(NodeContext.layer)))
})
