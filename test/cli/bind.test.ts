import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"
import { bindCli, BindLive } from "../../src/cli/bind.js"
import { Progress } from "../../src/cli/Progress.js"
import { Profile } from "../../src/profile/Profile.js"
import { CONFIG_FILE, IDENTITIES_FILE } from "../../src/profile/ProfileSchema.js"
import { Sim } from "../../src/sim/Sim.js"
import { SimSeed } from "../../src/sim/SimSeed.js"
import { binding, readText, tempProfile } from "../profile/tempProfile.js"
import { commandFailure, failureOf, runCaptured } from "./commandHarness.js"
import { FabricTransportLive } from "../../src/fabric/FabricTransport.js"

const TestLive = BindLive.pipe(Layer.provideMerge(Layer.mergeAll(NodeContext.layer, FabricTransportLive)))

const bindArgs = (root: string, name: string, overrides: Partial<Record<"agent-id" | "guild" | "channel", string>> = {}) => {
  const options = { "agent-id": "a1", guild: "g_00000001", channel: "c_00000002", ...overrides }
  // Membership is checked against a real center in "checks the guild" below.
  return ["--name", name, ...Object.entries(options).flatMap(([k, v]) => [`--${k}`, v]), "--profile", root, "--no-verify"]
}

const channelFiles = (root: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = path.join(root, "channels")
    return (yield* fs.exists(dir)) ? (yield* fs.readDirectory(dir)).sort() : []
  }).pipe(Effect.orDie)

const registered = { [IDENTITIES_FILE]: { version: 1, agents: { a1: { fabric_api_key: "k" } } } }

describe("plexum-fabric-bind", () => {
  it.scoped("writes channels/<name>.json as profile.md says, and the profile loads it", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile(registered)
      const run = yield* runCaptured(bindCli, bindArgs(root, "general"))
      expect(Exit.isSuccess(run.exit)).toBe(true)
      expect(JSON.parse(yield* readText(root, "channels/general.json"))).toEqual({
        plugin: "plexum-fabric-channel",
        agent_id: "a1",
        fabric_guild_node_id: "g_00000001",
        fabric_channel_id: "c_00000002"
      })
      expect(run.stdout).toContain("bound channel general")
      expect(run.stdout).toContain("channels/general.json")
      expect(run.stderr).toBe("")
      const profile = yield* (yield* Profile).load(root)
      expect(profile.bindings).toEqual([
        { name: "general", agentId: "a1", guildNodeId: "g_00000001", channelId: "c_00000002", file: "channels/general.json" }
      ])
      expect(yield* channelFiles(root)).toEqual(["general.json"])
    }).pipe(Effect.provide(TestLive)))

  it.scoped("notes on stderr when the agent has no Fabric identity yet", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      const run = yield* runCaptured(bindCli, bindArgs(root, "general"))
      expect(Exit.isSuccess(run.exit)).toBe(true)
      expect(run.stderr).toContain("agent a1 has no enabled Fabric identity")
      expect(run.stderr).toContain("plexum-fabric-register")
    }).pipe(Effect.provide(TestLive)))

  it.scoped("refuses a name already bound by a file of that name, and leaves it untouched", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile({ ...registered, "channels/general.json": binding("a1", "g_1", "c_1") })
      const before = yield* readText(root, "channels/general.json")
      const run = yield* runCaptured(bindCli, bindArgs(root, "general"))
      const failure = commandFailure(run)
      expect(failure?._tag).toBe("CommandFailed")
      expect(failure?.message).toContain(`channel name "general" is already bound by channels/general.json`)
      expect(failure?.message).toContain("choose another --name")
      expect(yield* readText(root, "channels/general.json")).toBe(before)
    }).pipe(Effect.provide(TestLive)))

  it.scoped("refuses a name another binding declares with \"name\"", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile({ "channels/legacy.json": binding("a2", "g_1", "c_1", { name: "general" }) })
      const run = yield* runCaptured(bindCli, bindArgs(root, "general"))
      expect(commandFailure(run)?.message).toContain("already bound by channels/legacy.json")
      expect(yield* channelFiles(root)).toEqual(["legacy.json"])
    }).pipe(Effect.provide(TestLive)))

  it.scoped("refuses to replace another plugin's file of the same name", () =>
    Effect.gen(function*() {
      const mail = JSON.stringify({ plugin: "plexum-mail-channel", inbox: "x" })
      const root = yield* tempProfile({ "channels/general.json": mail })
      const run = yield* runCaptured(bindCli, bindArgs(root, "general"))
      expect(commandFailure(run)?.message).toContain("channels/general.json already exists")
      expect(yield* readText(root, "channels/general.json")).toBe(mail)
      expect(yield* channelFiles(root)).toEqual(["general.json"])
    }).pipe(Effect.provide(TestLive)))

  const badInputs: ReadonlyArray<readonly [what: string, name: string, overrides: Record<string, string>, expected: string]> = [
    ["a guild id that is a channel id", "general", { guild: "c_1" }, `--guild "c_1" is not a Fabric guild node id`],
    ["a channel id that is a guild id", "general", { channel: "g_1" }, `--channel "g_1" is not a Fabric channel id`],
    ["a channel id with a space", "general", { channel: "c_1 2" }, "is not a Fabric channel id"],
    ["a bare prefix", "general", { guild: "g_" }, "is not a Fabric guild node id"],
    ["an empty agent id", "general", { "agent-id": " " }, "is not a Plexum agent id"],
    ["an agent id with spaces", "general", { "agent-id": "my agent" }, "is not a Plexum agent id"],
    ["a name with a path", "../escape", {}, `--name "../escape" cannot be a channel name`],
    ["a name with a slash", "a/b", {}, "cannot be a channel name"],
    ["a name ending in .json", "general.json", {}, "cannot be a channel name"]
  ]
  for (const [what, name, overrides, expected] of badInputs) {
    it.scoped(`rejects ${what}, writing nothing`, () =>
      Effect.gen(function*() {
        const root = yield* tempProfile()
        const run = yield* runCaptured(bindCli, bindArgs(root, name, overrides))
        expect(commandFailure(run)?.message).toContain(expected)
        expect(yield* channelFiles(root)).toEqual([])
      }).pipe(Effect.provide(TestLive)))
  }

  it.scoped("refuses to add to a profile that does not load, naming the problem", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile({ [CONFIG_FILE]: { dedup_capacity: 0 } })
      const run = yield* runCaptured(bindCli, bindArgs(root, "general"))
      const message = commandFailure(run)?.message ?? ""
      expect(message).toContain(`${CONFIG_FILE} (field dedup_capacity)`)
      expect(message).toContain("fix it first")
      expect(yield* channelFiles(root)).toEqual([])
    }).pipe(Effect.provide(TestLive)))

  it.scoped("a missing option is a usage error printed by the parser", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      const run = yield* runCaptured(bindCli, ["--name", "general", "--profile", root])
      expect(failureOf(run)?._tag).toBe("MissingValue")
      expect(run.stderr).toContain("--agent-id")
    }).pipe(Effect.provide(TestLive)))
})

describe("plexum-fabric-bind against a Fabric center", () => {
  const seed = new SimSeed({
    users: [{ key: "bot", display_name: "Bot", kind: "agent" }],
    guilds: [
      { key: "main", name: "Main", members: ["bot"], channels: [{ key: "general", name: "general", x_type: "group", members: ["bot"] }] },
      { key: "other", name: "Other", members: [], channels: [] }
    ]
  })

  /** A sim, and a profile whose agent a1 has the bot's key. */
  const world = Effect.gen(function*() {
    const sim = yield* Sim.start()
    const seeded = yield* sim.seed(seed)
    const root = yield* tempProfile({
      [CONFIG_FILE]: { center_api_base: sim.centerApiBase, max_retries: 0 },
      [IDENTITIES_FILE]: { version: 1, agents: { a1: { fabric_api_key: Redacted.value(seeded.users["bot"]!.api_key!) } } }
    })
    return { root, main: seeded.guilds["main"]!, other: seeded.guilds["other"]! }
  })

  const progressLines: Array<string> = []
  // Later layers win: the progress sink replaces BindLive's stderr.
  const CenterLive = Layer.mergeAll(
    TestLive,
    Progress.layer({ tty: false, write: (text) => Effect.sync(() => void progressLines.push(text)) })
  )
  const checkedArgs = (root: string, name: string, guild: string, channel: string) =>
    ["--name", name, "--agent-id", "a1", "--guild", guild, "--channel", channel, "--profile", root]

  it.scoped("refuses a guild the agent is not a member of, naming its guilds, and writes nothing", () =>
    Effect.gen(function*() {
      const { main, other, root } = yield* world
      progressLines.length = 0
      const run = yield* runCaptured(bindCli, checkedArgs(root, "general", other.node_id, "c_00000002"))
      const message = commandFailure(run)?.message ?? ""
      expect(message).toContain(`is not a member of guild ${other.node_id}`)
      expect(message).toContain(`its guilds: ${main.node_id} (Main)`)
      expect(message).toContain("nothing was written")
      expect(yield* channelFiles(root)).toEqual([])
      expect(progressLines.join("")).toContain(`logging in agent a1`)
    }).pipe(Effect.provide(CenterLive)))

  it.scoped("binds a channel of a guild the agent is in; --list shows it and --remove deletes it", () =>
    Effect.gen(function*() {
      const { main, root } = yield* world
      const channel = main.channels["general"]!
      const bound = yield* runCaptured(bindCli, checkedArgs(root, "general", main.node_id, channel))
      expect(Exit.isSuccess(bound.exit)).toBe(true)
      expect(bound.stdout).not.toContain("not checked")

      const listed = yield* runCaptured(bindCli, ["--list", "--profile", root])
      expect(listed.stdout).toBe(["general", "a1", main.node_id, channel, "channels/general.json"].join("\t"))

      const unknown = yield* runCaptured(bindCli, ["--remove", "genral", "--profile", root])
      expect(commandFailure(unknown)?.message).toContain(`no channel named "genral" is bound`)
      expect(commandFailure(unknown)?.message).toContain("(bound: general)")

      const removed = yield* runCaptured(bindCli, ["--remove", "general", "--profile", root])
      expect(Exit.isSuccess(removed.exit)).toBe(true)
      expect(removed.stdout).toContain("removed channel general")
      expect(yield* channelFiles(root)).toEqual([])
      expect((yield* runCaptured(bindCli, ["--list", "--profile", root])).stdout).toContain("no channel is bound")
    }).pipe(Effect.provide(CenterLive)))
})
