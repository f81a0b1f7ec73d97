import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, LogLevel, Option, Redacted } from "effect"
import { execFileSync } from "node:child_process"
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import {
  formatProfileError,
  Profile,
  PROFILE_FILE_MAX_BYTES,
  ProfileError,
  resolveProfileRoot
} from "../../src/profile/Profile.js"
import { CONFIG_FILE, defaultConfig, IDENTITIES_FILE } from "../../src/profile/ProfileSchema.js"
import { binding, captureLogs, type ProfileFiles, tempProfile } from "./tempProfile.js"

const TestLive = Profile.Default.pipe(Layer.provideMerge(NodeContext.layer))

const SECRET = "fab_live_s3cr3t_value"

const load = (files: ProfileFiles) =>
  Effect.gen(function*() {
    const root = yield* tempProfile(files)
    return yield* (yield* Profile).load(root)
  })

const loadError = (files: ProfileFiles) =>
  Effect.flip(load(files)).pipe(Effect.tap((error) => expect(error).toBeInstanceOf(ProfileError)))

describe("Profile.load", () => {
  it.scoped("an empty profile is all defaults, no identities, no bindings", () =>
    Effect.gen(function*() {
      const profile = yield* load({})
      expect(profile.config).toEqual(defaultConfig)
      expect(profile.config.center_api_base).toBe("http://localhost:7001/api")
      expect(profile.config.session_ttl_seconds).toBe(480)
      expect(profile.identities.size).toBe(0)
      expect(profile.bindings).toEqual([])
    }).pipe(Effect.provide(TestLive)))

  it.scoped("reads config, identities and this plugin's bindings, sorted by channel name", () =>
    Effect.gen(function*() {
      const profile = yield* load({
        [CONFIG_FILE]: { center_api_base: "http://center.test/api", session_ttl_seconds: 60, replay_on_start: true },
        [IDENTITIES_FILE]: {
          version: 1,
          agents: { a1: { fabric_api_key: SECRET }, a2: { fabric_api_key: "other", enabled: false } }
        },
        "channels/zeta.json": binding("a1", "g_1", "c_9"),
        "channels/alpha.json": binding("a2", "g_2", "c_2", { name: "support" }),
        "channels/mail.json": { plugin: "plexum-mail-channel", whatever: 1 },
        "channels/no-plugin.json": { agent_id: "a1" },
        "channels/README.md": "not a binding"
      })
      expect(profile.config).toEqual({
        ...defaultConfig,
        center_api_base: "http://center.test/api",
        session_ttl_seconds: 60,
        replay_on_start: true
      })
      expect(profile.identities.get("a1")?.enabled).toBe(true)
      expect(Redacted.value(profile.identities.get("a1")!.apiKey)).toBe(SECRET)
      expect(profile.identities.get("a2")?.enabled).toBe(false)
      expect(profile.bindings).toEqual([
        { name: "support", agentId: "a2", guildNodeId: "g_2", channelId: "c_2", file: "channels/alpha.json" },
        { name: "zeta", agentId: "a1", guildNodeId: "g_1", channelId: "c_9", file: "channels/zeta.json" }
      ])
    }).pipe(Effect.provide(TestLive)))

  describe("config.json", () => {
    const cases: ReadonlyArray<readonly [field: string, value: unknown, expected: string]> = [
      ["center_api_base", 7001, "must be string, not 7001"],
      ["session_ttl_seconds", -5, "must be a positive number, not -5"],
      ["channel_sync_interval_seconds", "60", "must be number, not \"60\""],
      ["dedup_capacity", 1.5, "must be an integer, not 1.5"],
      ["queue_idle_seconds", 0, "must be a positive number, not 0"],
      ["replay_on_start", "yes", "must be boolean, not \"yes\""],
      ["max_retries", -1, "must be a non-negative number, not -1"]
    ]
    for (const [field, value, expected] of cases) {
      it.scoped(`${field} = ${JSON.stringify(value)} is an error naming the file and the field`, () =>
        Effect.gen(function*() {
          const error = yield* loadError({ [CONFIG_FILE]: { [field]: value } })
          expect(error.file).toBe(CONFIG_FILE)
          expect(error.field).toBe(field)
          expect(error.message).toContain(expected)
          expect(error.message).toContain("remove the field to use its default")
        }).pipe(Effect.provide(TestLive)))
    }

    it.scoped("an unknown field is an error that names it and lists the known ones", () =>
      Effect.gen(function*() {
        const error = yield* loadError({ [CONFIG_FILE]: { sesion_ttl_seconds: 60, colour: "red" } })
        expect(error.file).toBe(CONFIG_FILE)
        expect(error.field).toBe("sesion_ttl_seconds")
        expect(error.message).toContain(`unknown fields "sesion_ttl_seconds", "colour"`)
        expect(error.message).toContain("session_ttl_seconds")
      }).pipe(Effect.provide(TestLive)))

    it.scoped("a config that is not an object says so", () =>
      Effect.gen(function*() {
        const error = yield* loadError({ [CONFIG_FILE]: [1, 2] })
        expect(error.file).toBe(CONFIG_FILE)
        expect(error.field).toBeUndefined()
        expect(error.message).toContain("must hold a JSON object")
      }).pipe(Effect.provide(TestLive)))
  })

  describe("malformed JSON", () => {
    it.scoped("names the file and where the syntax breaks", () =>
      Effect.gen(function*() {
        const error = yield* loadError({ [CONFIG_FILE]: "{\n  \"session_ttl_seconds\": 60,\n}" })
        expect(error.file).toBe(CONFIG_FILE)
        expect(error.message).toContain("is not valid JSON")
        expect(error.message).toContain("line 3, column 1")
      }).pipe(Effect.provide(TestLive)))

    it.scoped("in the identities file, never quotes the content", () =>
      Effect.gen(function*() {
        for (const text of [`{"version": 1, "agents": {"a1": {"fabric_api_key": "${SECRET}" }}`, `{"agents": ${SECRET}}`]) {
          const error = yield* loadError({ [IDENTITIES_FILE]: text })
          expect(error.file).toBe(IDENTITIES_FILE)
          expect(error.message).toContain("is not valid JSON")
          expect(formatProfileError(error)).not.toContain(SECRET)
          expect(formatProfileError(error)).not.toContain("s3cr3t")
        }
      }).pipe(Effect.provide(TestLive)))

    it.scoped("in a channel file, names that file", () =>
      Effect.gen(function*() {
        const error = yield* loadError({ "channels/general.json": "{\"plugin\": " })
        expect(error.file).toBe("channels/general.json")
        expect(error.message).toContain("is not valid JSON")
      }).pipe(Effect.provide(TestLive)))
  })

  describe("fabric-identities.json", () => {
    it.scoped("a wrong type names the field and never shows the value", () =>
      Effect.gen(function*() {
        const error = yield* loadError({
          [IDENTITIES_FILE]: { version: 1, agents: { a1: { fabric_api_key: 12345678, enabled: true } } }
        })
        expect(error.file).toBe(IDENTITIES_FILE)
        expect(error.field).toBe("agents.a1.fabric_api_key")
        expect(error.message).toContain("must be string")
        expect(error.message).not.toContain("12345678")
        expect(error.message).toContain("plexum-fabric-register")
      }).pipe(Effect.provide(TestLive)))

    it.scoped("a missing key and an unknown version are named", () =>
      Effect.gen(function*() {
        const missing = yield* loadError({ [IDENTITIES_FILE]: { version: 1, agents: { a1: { enabled: true } } } })
        expect(missing.field).toBe("agents.a1.fabric_api_key")
        expect(missing.message).toContain("is required but missing")
        const version = yield* loadError({ [IDENTITIES_FILE]: { version: 2, agents: {} } })
        expect(version.field).toBe("version")
        expect(version.message).toContain("must be 1, not")
        const notObject = yield* loadError({ [IDENTITIES_FILE]: { version: 1, agents: [] } })
        expect(notObject.field).toBe("agents")
        expect(notObject.message).toContain("must be a JSON object")
      }).pipe(Effect.provide(TestLive)))

    it.scoped("warns once per mode, without the key, when other users may read the file", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const root = yield* tempProfile({ [IDENTITIES_FILE]: { version: 1, agents: { a1: { fabric_api_key: SECRET } } } })
        const profile = yield* Profile
        yield* fs.chmod(path.join(root, IDENTITIES_FILE), 0o644)
        const loose = yield* captureLogs(profile.load(root), LogLevel.Warning)
        expect(loose.messages).toHaveLength(1)
        expect(loose.messages[0]).toContain("mode 0644")
        expect(loose.messages[0]).toContain("chmod 600")
        expect(loose.messages[0]).not.toContain(SECRET)
        // The plugin loads twice at start: one warning per file state, not per load.
        expect((yield* captureLogs(profile.load(root), LogLevel.Warning)).messages).toEqual([])
        yield* fs.chmod(path.join(root, IDENTITIES_FILE), 0o600)
        const tight = yield* captureLogs(profile.load(root), LogLevel.Warning)
        expect(tight.messages).toEqual([])
        yield* fs.chmod(path.join(root, IDENTITIES_FILE), 0o644)
        expect((yield* captureLogs(profile.load(root), LogLevel.Warning)).messages).toHaveLength(1)
      }).pipe(Effect.provide(TestLive)))
  })

  describe("channels/*.json", () => {
    it.scoped("a field of the wrong type names the file and the field", () =>
      Effect.gen(function*() {
        const empty = yield* loadError({ "channels/general.json": binding("", "g_1", "c_1") })
        expect(empty.file).toBe("channels/general.json")
        expect(empty.field).toBe("agent_id")
        expect(empty.message).toContain("must be a non empty string")
        expect(empty.message).toContain("plexum-fabric-bind")
        const wrongType = yield* loadError({ "channels/general.json": binding("a1", 42, "c_1") })
        expect(wrongType.field).toBe("fabric_guild_node_id")
        expect(wrongType.message).toContain("must be string, not 42")
        const { fabric_channel_id: _, ...withoutChannel } = binding("a1", "g_1", "c_1")
        const missing = yield* loadError({ "channels/general.json": withoutChannel })
        expect(missing.field).toBe("fabric_channel_id")
        expect(missing.message).toContain("is required but missing")
      }).pipe(Effect.provide(TestLive)))

    it.scoped("two files with the same channel name are an error naming both", () =>
      Effect.gen(function*() {
        const error = yield* loadError({
          "channels/general.json": binding("a1", "g_1", "c_1"),
          "channels/other.json": binding("a2", "g_2", "c_2", { name: "general" })
        })
        expect(error.field).toBe("name")
        expect(formatProfileError(error)).toContain("channels/general.json")
        expect(formatProfileError(error)).toContain("channels/other.json")
        expect(error.message).toContain(`"general"`)
      }).pipe(Effect.provide(TestLive)))

    it.scoped("a channel name outside the safe set is refused at load, from the field or the file name", () =>
      Effect.gen(function*() {
        const traversal = yield* loadError({ "channels/evil.json": binding("a1", "g_1", "c_1", { name: "../../../etc/passwd" }) })
        expect(traversal.file).toBe("channels/evil.json")
        expect(traversal.field).toBe("name")
        expect(traversal.message).toBe(
          `"../../../etc/passwd" cannot be a channel name (the "name" field): use letters, digits, ".", "_" or "-", ` +
            `starting with a letter or digit, at most 100; rename the file or set a valid "name"`
        )
        const fromFile = yield* loadError({ "channels/my channel.json": binding("a1", "g_1", "c_1") })
        expect(fromFile.message).toContain(`"my channel" cannot be a channel name (taken from the file name)`)
      }).pipe(Effect.provide(TestLive)))

    it.scoped("another plugin's file with the same name does not collide", () =>
      Effect.gen(function*() {
        const profile = yield* load({
          "channels/general.json": binding("a1", "g_1", "c_1"),
          "channels/other.json": { plugin: "plexum-mail-channel", name: "general" }
        })
        expect(profile.bindings.map((b) => b.name)).toEqual(["general"])
      }).pipe(Effect.provide(TestLive)))
  })
})

describe("hostile profile files", () => {
  /** A profile whose `file` is replaced by what `make` puts at its path. */
  const withSpecial = (file: string, make: (target: string) => void) =>
    Effect.gen(function*() {
      const root = yield* tempProfile({ "channels/.keep": "" })
      const path = yield* Path.Path
      yield* Effect.sync(() => {
        mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
        make(path.join(root, file))
      })
      return yield* Effect.flip((yield* Profile).load(root))
    })

  it.scoped("a FIFO, a link to /dev/zero or /dev/urandom fails at once, naming the file (nothing blocks or fills memory)", () =>
    Effect.gen(function*() {
      const fifo = yield* withSpecial("channels/pipe.json", (target) => execFileSync("mkfifo", [target]))
      expect(formatProfileError(fifo)).toBe(
        "channels/pipe.json: is not a regular file (it is a FIFO, after following links); " +
          "profile files must be regular JSON files: replace it with one, or remove it"
      )
      const zero = yield* withSpecial("channels/zero.json", (target) => symlinkSync("/dev/zero", target))
      expect(formatProfileError(zero)).toContain("channels/zero.json: is not a regular file (it is a CharacterDevice")
      const random = yield* withSpecial(CONFIG_FILE, (target) => symlinkSync("/dev/urandom", target))
      expect(random.file).toBe(CONFIG_FILE)
      expect(random.message).toContain("is not a regular file")
    }).pipe(Effect.provide(TestLive)))

  it.scoped("a file over 1 MiB is refused unread, naming it", () =>
    Effect.gen(function*() {
      const huge = yield* withSpecial(IDENTITIES_FILE, (target) => writeFileSync(target, " ".repeat(PROFILE_FILE_MAX_BYTES + 1)))
      expect(formatProfileError(huge)).toBe(
        `${IDENTITIES_FILE}: is over the 1024 KiB a profile file may hold; check that it is the right file, ` +
          "and remove what does not belong in it"
      )
      const loaded = yield* load({ [CONFIG_FILE]: `${" ".repeat(PROFILE_FILE_MAX_BYTES - 2)}{}` })
      expect(loaded.config).toEqual(defaultConfig)
    }).pipe(Effect.provide(TestLive)))

  it.scoped("file_roots must be absolute directories", () =>
    Effect.gen(function*() {
      const error = yield* loadError({ [CONFIG_FILE]: { file_roots: ["/srv/out", "relative/dir"] } })
      expect(error.field).toBe("file_roots.1")
      expect(error.message).toContain("must be an absolute directory path")
      expect((yield* load({ [CONFIG_FILE]: { file_roots: ["/srv/out"] } })).config.file_roots).toEqual(["/srv/out"])
    }).pipe(Effect.provide(TestLive)))
})

describe("resolveProfileRoot", () => {
  const withEnv = (env: Record<string, string>) =>
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

  it.effect("--profile wins, then PLEXUM_PROFILE_ROOT, then ~/.plexum; always absolute", () =>
    Effect.gen(function*() {
      const path = yield* Path.Path
      expect(yield* resolveProfileRoot(Option.some("/p/explicit")).pipe(withEnv({ PLEXUM_PROFILE_ROOT: "/p/env" })))
        .toBe("/p/explicit")
      expect(yield* resolveProfileRoot(Option.none()).pipe(withEnv({ PLEXUM_PROFILE_ROOT: "/p/env" }))).toBe("/p/env")
      expect(yield* resolveProfileRoot(Option.none()).pipe(withEnv({ PLEXUM_PROFILE_ROOT: "  " })))
        .toBe(path.join(homedir(), ".plexum"))
      expect(yield* resolveProfileRoot(Option.none()).pipe(withEnv({}))).toBe(path.join(homedir(), ".plexum"))
      expect(yield* resolveProfileRoot(Option.some("~/elsewhere")).pipe(withEnv({})))
        .toBe(path.join(homedir(), "elsewhere"))
      expect(path.isAbsolute(yield* resolveProfileRoot(Option.some("relative")).pipe(withEnv({})))).toBe(true)
    }).pipe(Effect.provide(NodeContext.layer)))
})

