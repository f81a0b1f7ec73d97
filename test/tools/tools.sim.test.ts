/**
 * The tools with the real FabricApi, Sessions and CenterApi over real HTTP, against the sim:
 * what the agent is told matches what Fabric now holds.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Encoding, Layer, Redacted } from "effect"
import { CenterApi } from "../../src/fabric/CenterApi.js"
import { FabricApi } from "../../src/fabric/FabricApi.js"
import { Typing } from "../../src/presence/Typing.js"
import { ActiveProfile, defaultConfig } from "../../src/profile/ProfileSchema.js"
import { SessionsLive } from "../../src/sessions/Sessions.js"
import { Sim } from "../../src/sim/Sim.js"
import { FiberRegistry } from "../../src/telemetry/FiberRegistry.js"
import { Tools } from "../../src/tools/Tools.js"
import { errorOf, okOf } from "./fixtures.js"
import { FabricTransportLive } from "../../src/fabric/FabricTransport.js"

/**
 * A guild with Ada (human) and Alice (agent), a bound channel #general and the tools wired to
 * it, over the transport main.ts uses.
 */
const fixture = () => Effect.gen(function*() {
  const sim = yield* Sim.start()
  const guild = yield* sim.createGuild({ name: "Acme" })
  const ada = yield* sim.createUser({ display_name: "Ada" })
  const alice = yield* sim.createAgent({ display_name: "Alice" })
  for (const user of [ada, alice]) yield* sim.addMember(guild.node_id, user.id)
  const general = yield* sim.createChannel(guild.node_id, { name: "general", x_type: "group", member_ids: [ada.id, alice.id] })

  const profile = Layer.succeed(ActiveProfile, {
    root: "/nonexistent/plexum-profile",
    config: { ...defaultConfig, center_api_base: sim.centerApiBase, max_retries: 0 },
    identities: new Map([["alice", { agentId: "alice", apiKey: alice.api_key, enabled: true }]]),
    bindings: [{ name: "general", agentId: "alice", guildNodeId: guild.node_id, channelId: general.id, file: "channels/general.json" }]
  })
  const live = Tools.Default.pipe(
    Layer.provide(Typing.Default),
    Layer.provide(FiberRegistry.Default),
    Layer.provideMerge(FabricApi.Default),
    Layer.provideMerge(SessionsLive),
    Layer.provide(CenterApi.Default),
    Layer.provide(profile),
    Layer.provide(FabricTransportLive)
  )
  const tools = yield* Layer.build(live)
  const call = (name: string, args: Record<string, unknown>) =>
    Effect.flatMap(Tools, (t) => t.call(name, { channel_name: "general", ...args })).pipe(Effect.provide(tools))
  const contents = (channelId: string) =>
    Effect.map(sim.messages(guild.node_id, channelId), (all) => all.map((m) => ({ id: m.id, content: m.content, author: m.author_id })))
  return { sim, guild, ada, alice, general, call, contents }
})

const idIn = (text: string, pattern: RegExp) => {
  const match = pattern.exec(text)
  if (match === null) throw new Error(`no match for ${pattern} in: ${text}`)
  return match[1]!
}

describe("tools against the sim", () => {
  it.scopedLive("send lands in the bound channel, as the agent, with the id it reports", () =>
    Effect.gen(function*() {
      const { alice, call, contents, general } = yield* fixture()
      const text = okOf(yield* call("send", { message: "hello from the tools" }))
      const id = idIn(text, /^sent (\S+) to #general \(/)
      expect(yield* contents(general.id)).toEqual([{ id, content: "hello from the tools", author: alice.id }])
    }))

  it.scopedLive("a reply goes to the session's channel when the agent is in it, else to the binding's", () =>
    Effect.gen(function*() {
      const { ada, alice, call, contents, general, guild, sim } = yield* fixture()
      const dm = yield* sim.openDm(guild.node_id, ada.id, alice.id)
      const adaOnly = yield* sim.createChannel(guild.node_id, { name: "ada-notes", x_type: "private", member_ids: [ada.id] })
      okOf(yield* call("send", { message: "in the DM", session_id: `s_fab_${dm.id}` }))
      okOf(yield* call("send", { message: "not there", session_id: `s_fab_${adaOnly.id}` }))
      expect((yield* contents(dm.id)).map((m) => m.content)).toEqual(["in the DM"])
      expect((yield* contents(adaOnly.id))).toEqual([])
      expect((yield* contents(general.id)).map((m) => m.content)).toEqual(["not there"])
    }))

  it.scopedLive("a stale canvas write is refused and names the current version", () =>
    Effect.gen(function*() {
      const { call } = yield* fixture()
      const before = JSON.parse(okOf(yield* call("get_canvas", {})))
      expect(okOf(yield* call("update_canvas", { content: "# Plan v1", base_version: before.version }))).toBe(
        `the canvas of ${before.channel_id} is now version ${before.version + 1}`
      )
      const line = errorOf(yield* call("update_canvas", { content: "# Plan, concurrently", base_version: before.version }))
      expect(line).toContain(`changed since version ${before.version}: it is now version ${before.version + 1}`)
      expect(line).toContain(`retry with base_version ${before.version + 1}`)
      expect(JSON.parse(okOf(yield* call("get_canvas", {}))).content).toBe("# Plan v1")
    }))

  it.scopedLive("a sub-discussion is opened, reachable with its session id, and closed", () =>
    Effect.gen(function*() {
      const { ada, call, contents, general } = yield* fixture()
      const opened = okOf(yield* call("create_sub_discussion", { title: "Naming", participant_ids: [ada.id] }))
      const subId = idIn(opened, /^opened sub-discussion (\S+) /)
      const subChannel = idIn(opened, /as channel (\S+) under/)
      okOf(yield* call("send", { message: "let's pick a name", session_id: `s_fab_${subChannel}` }))
      expect((yield* contents(subChannel)).map((m) => m.content)).toEqual(["let's pick a name"])
      expect(yield* contents(general.id)).toEqual([])

      expect(okOf(yield* call("close_sub_discussion", { sub_discussion_id: subId, summary: "Plexum" }))).toBe(
        `closed sub-discussion ${subId} "Naming"`
      )
      const listed = JSON.parse(okOf(yield* call("list_sub_discussions", {})))
      expect(listed.sub_discussions).toMatchObject([{ id: subId, status: "closed", session_id: `s_fab_${subChannel}` }])
    }))

  it.scopedLive("send_file uploads the bytes and attaches them to the message", () =>
    Effect.gen(function*() {
      const { call, general, guild, sim } = yield* fixture()
      okOf(yield* call("send_file", { data_base64: Encoding.encodeBase64("a,b\n1,2\n"), file_name: "t.csv", message: "the table" }))
      const [posted] = yield* sim.messages(guild.node_id, general.id)
      expect(posted!.content).toBe("the table")
      expect(posted!.attachments).toMatchObject([{ name: "t.csv", mime: "text/csv", size: 8 }])
    }))

  it.scopedLive("send_file of a .json file reaches the sim as a file (not parsed as a form field)", () =>
    Effect.gen(function*() {
      const { call, general, guild, sim } = yield* fixture()
      okOf(yield* call("send_file", { data_base64: Encoding.encodeBase64("{\"a\":1}"), file_name: "data.json" }))
      const [posted] = yield* sim.messages(guild.node_id, general.id)
      expect(posted!.attachments).toMatchObject([{ name: "data.json", mime: "application/json", size: 7 }])
    }))

  it.scopedLive("Fabric refusals become one line without any key", () =>
    Effect.gen(function*() {
      const { ada, alice, call, guild, sim } = yield* fixture()
      const secret = yield* sim.createChannel(guild.node_id, { name: "secret", x_type: "private", member_ids: [ada.id] })
      const line = errorOf(yield* call("join_channel", { channel_id: secret.id }))
      expect(line).toBe(`${secret.id} is not a public channel, so it cannot be joined; ask one of its members to invite the agent`)
      const read = errorOf(yield* call("read_messages", { channel_id: secret.id }))
      expect(read).toBe(`the agent is not a member of ${secret.id} (not_member); ask a member to invite it`)
      expect(read).not.toContain(Redacted.value(alice.api_key))
    }))
})
