import { FileSystem, Path } from "@effect/platform"
import { SystemError } from "@effect/platform/Error"
import { NodeContext, NodePath } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { IdentitiesStore } from "../../src/profile/IdentitiesStore.js"
import { Profile } from "../../src/profile/Profile.js"
import { IDENTITIES_FILE } from "../../src/profile/ProfileSchema.js"
import { readText, tempProfile } from "./tempProfile.js"

const TestLive = Layer.mergeAll(IdentitiesStore.Default, Profile.Default).pipe(Layer.provideMerge(NodeContext.layer))

const key = (value: string) => Redacted.make(value)

const modeOf = (root: string, file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    return (yield* Effect.orDie(fs.stat(path.join(root, file)))).mode & 0o777
  })

const listDir = (root: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => Effect.orDie(fs.readDirectory(root)))

describe("IdentitiesStore.upsert", () => {
  it.scoped("creates the file with mode 0600, then the profile loads the identity", () =>
    Effect.gen(function*() {
      const path = yield* Path.Path
      const parent = yield* tempProfile()
      // The profile root need not exist yet.
      const root = path.join(parent, "fresh")
      const store = yield* IdentitiesStore
      const written = yield* store.upsert(root, "a1", { apiKey: key("k_one"), enabled: true })
      expect(written).toEqual({ file: IDENTITIES_FILE, path: path.join(root, IDENTITIES_FILE), replaced: false })
      expect(yield* modeOf(root, IDENTITIES_FILE)).toBe(0o600)
      const profile = yield* (yield* Profile).load(root)
      expect(Redacted.value(profile.identities.get("a1")!.apiKey)).toBe("k_one")
      expect(yield* listDir(root)).toEqual([IDENTITIES_FILE])
    }).pipe(Effect.provide(TestLive)))

  it.scoped("replaces one agent's entry and keeps every other entry (unknown fields included) as it was", () =>
    Effect.gen(function*() {
      const before = {
        version: 1,
        comment: "kept",
        agents: {
          a1: { fabric_api_key: "k_old", enabled: true },
          a2: { fabric_api_key: "k_two", enabled: false, note: "kept too" }
        }
      }
      const root = yield* tempProfile({ [IDENTITIES_FILE]: before })
      const store = yield* IdentitiesStore
      const written = yield* store.upsert(root, "a1", { apiKey: key("k_new"), enabled: false })
      expect(written.replaced).toBe(true)
      yield* store.upsert(root, "a3", { apiKey: key("k_three"), enabled: true })
      expect(JSON.parse(yield* readText(root, IDENTITIES_FILE))).toEqual({
        version: 1,
        comment: "kept",
        agents: {
          a1: { fabric_api_key: "k_new", enabled: false },
          a2: { fabric_api_key: "k_two", enabled: false, note: "kept too" },
          a3: { fabric_api_key: "k_three", enabled: true }
        }
      })
    }).pipe(Effect.provide(TestLive)))

  it.scoped("tightens a file other users could read to 0600", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const root = yield* tempProfile({ [IDENTITIES_FILE]: { version: 1, agents: {} } })
      yield* fs.chmod(path.join(root, IDENTITIES_FILE), 0o644)
      yield* (yield* IdentitiesStore).upsert(root, "a1", { apiKey: key("k"), enabled: true })
      expect(yield* modeOf(root, IDENTITIES_FILE)).toBe(0o600)
    }).pipe(Effect.provide(TestLive)))

  it.scoped("never overwrites a file it cannot read: the other agents' keys would be lost", () =>
    Effect.gen(function*() {
      const broken = `{"version": 1, "agents": {"a2": {"fabric_api_key": "k_two"},}}`
      const root = yield* tempProfile({ [IDENTITIES_FILE]: broken })
      const error = yield* Effect.flip((yield* IdentitiesStore).upsert(root, "a1", { apiKey: key("k_new"), enabled: true }))
      expect(error._tag).toBe("ProfileError")
      expect(yield* readText(root, IDENTITIES_FILE)).toBe(broken)

      const wrongShape = JSON.stringify({ version: 2, agents: {} })
      const root2 = yield* tempProfile({ [IDENTITIES_FILE]: wrongShape })
      const error2 = yield* Effect.flip((yield* IdentitiesStore).upsert(root2, "a1", { apiKey: key("k"), enabled: true }))
      expect(error2._tag === "ProfileError" && error2.field).toBe("version")
      expect(yield* readText(root2, IDENTITIES_FILE)).toBe(wrongShape)
    }).pipe(Effect.provide(TestLive)))

  it.scoped("a write that fails before the rename leaves the old file whole and no temporary file behind", () =>
    Effect.gen(function*() {
      const original = { version: 1, agents: { a2: { fabric_api_key: "k_two", enabled: true } } }
      const root = yield* tempProfile({ [IDENTITIES_FILE]: original })
      const real = yield* FileSystem.FileSystem
      // The disk "fills up" at the last step: everything was written to the temporary file.
      const failingRename = Layer.succeed(FileSystem.FileSystem, {
        ...real,
        rename: (from: string) =>
          new SystemError({ reason: "Unknown", module: "FileSystem", method: "rename", pathOrDescriptor: from, description: "ENOSPC" })
      })
      const error = yield* Effect.flip(
        Effect.flatMap(IdentitiesStore, (store) => store.upsert(root, "a1", { apiKey: key("k_secret_new"), enabled: true })).pipe(
          Effect.provide(IdentitiesStore.Default.pipe(Layer.provide(Layer.merge(failingRename, NodePath.layer))))
        )
      )
      expect(error._tag).toBe("ProfileWriteError")
      expect(error.message).toContain("cannot move the new file into place")
      expect(error.message).not.toContain("k_secret_new")
      expect(JSON.parse(yield* readText(root, IDENTITIES_FILE))).toEqual(original)
      expect(yield* listDir(root)).toEqual([IDENTITIES_FILE])
    }).pipe(Effect.provide(TestLive)))
})
