/**
 * The channel family: which channel a tool acts on (channel_id, session_id, the binding's),
 * what it returns, and its Fabric errors.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type * as C from "../../src/fabric/FabricContract.js"
import { call, channel, errorOf, fabricError, fakeFabric, message, okOf, toolsLayer } from "./fixtures.js"

const G = { agentId: "alice", guildNodeId: "g_acme" }

describe("list_channels", () => {
  it.effect("lists the agent's channels in the binding's guild with their session ids", () => {
    const fake = fakeFabric({ listChannels: () => Effect.succeed([channel("c_general", "general"), channel("c_dm", "dm", "dm")]) })
    return Effect.gen(function*() {
      const listed = JSON.parse(okOf(yield* call("list_channels", { channel_name: "general" })))
      expect(listed).toEqual({
        guild_node_id: "g_acme",
        channels: [
          { id: "c_general", name: "general", x_type: "group", session_id: "s_fab_c_general" },
          { id: "c_dm", name: "dm", x_type: "dm", session_id: "s_fab_c_dm" }
        ]
      })
      expect(fake.callsOf("listChannels")[0]!.args).toEqual([G])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })
})

describe("get_channel", () => {
  const fake = () =>
    fakeFabric({
      getChannel: (_g, id) => Effect.succeed(channel(id, `name-${id}`)),
      listMembers: () => Effect.succeed([{ id: "u_ada", display_name: "Ada", kind: "user" }] satisfies Array<C.Member>)
    })

  it.effect("describes the binding's channel by default, with its members", () => {
    const f = fake()
    return Effect.gen(function*() {
      expect(JSON.parse(okOf(yield* call("get_channel", { channel_name: "random" })))).toEqual({
        channel: { id: "c_random", name: "name-c_random", x_type: "group", session_id: "s_fab_c_random" },
        members: [{ id: "u_ada", display_name: "Ada", kind: "user" }]
      })
    }).pipe(Effect.provide(toolsLayer(f.layer)))
  })

  it.effect("acts on the channel of a session id, or on channel_id", () => {
    const f = fake()
    return Effect.gen(function*() {
      okOf(yield* call("get_channel", { channel_name: "general", session_id: "s_fab_c_dm" }))
      okOf(yield* call("get_channel", { channel_name: "general", channel_id: "c_x" }))
      okOf(yield* call("get_channel", { channel_name: "general", channel_id: "c_x", session_id: "s_fab_c_x" }))
      expect(f.callsOf("getChannel").map((c) => c.args[1])).toEqual(["c_dm", "c_x", "c_x"])
    }).pipe(Effect.provide(toolsLayer(f.layer)))
  })

  it.effect("refuses a malformed session id and a channel_id that contradicts it", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("get_channel", { channel_name: "general", session_id: "s_slack_1" }))).toBe(
        "session_id 's_slack_1' is not a Fabric session (s_fab_<channel id>); pass channel_id instead"
      )
      expect(errorOf(yield* call("get_channel", { channel_name: "general", channel_id: "c_a", session_id: "s_fab_c_b" }))).toBe(
        "channel_id c_a and session_id s_fab_c_b name different channels; pass only one"
      )
    }).pipe(Effect.provide(toolsLayer(fakeFabric({}).layer))))

  it.effect("reports an unknown channel", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("get_channel", { channel_name: "general", channel_id: "c_gone" }))).toBe(
        "c_gone was not found in guild g_acme (unknown_channel); list_channels shows the agent's channels"
      )
    }).pipe(Effect.provide(toolsLayer(fakeFabric({
      getChannel: () => Effect.fail(fabricError("not_found", { code: "unknown_channel" })),
      listMembers: () => Effect.succeed([])
    }).layer))))
})

describe("create_channel, join_channel, leave_channel, open_dm", () => {
  it.effect("creates a group channel by default and says how to send to it", () => {
    const fake = fakeFabric({ createChannel: (_g, body) => Effect.succeed(channel("c_new", body.name, body.x_type)) })
    return Effect.gen(function*() {
      expect(okOf(yield* call("create_channel", { channel_name: "general", name: "design" }))).toBe(
        "created #design (c_new, group); send to it with session_id s_fab_c_new"
      )
      expect(fake.callsOf("createChannel")[0]!.args).toEqual([G, { name: "design", x_type: "group", member_ids: [] }])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("a channel joined is routable at once: the membership cache is dropped", () => {
    let member = false
    const fake = fakeFabric({
      listChannels: () => Effect.sync(() => (member ? [channel("c_pub", "pub", "public")] : [])),
      joinChannel: (_g, id) => Effect.sync(() => ((member = true), channel(id, "pub", "public"))),
      postMessage: (_g, channelId) => Effect.succeed(message("m_1", channelId))
    })
    return Effect.gen(function*() {
      okOf(yield* call("list_channels", { channel_name: "general" }))
      expect(okOf(yield* call("join_channel", { channel_name: "general", channel_id: "c_pub" }))).toBe(
        "joined #pub (c_pub); send to it with session_id s_fab_c_pub"
      )
      okOf(yield* call("send", { channel_name: "general", message: "hello", session_id: "s_fab_c_pub" }))
      expect(fake.callsOf("postMessage")[0]!.args[1]).toBe("c_pub")
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("explains that only public channels can be joined", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("join_channel", { channel_name: "general", channel_id: "c_priv" }))).toBe(
        "c_priv is not a public channel, so it cannot be joined; ask one of its members to invite the agent"
      )
    }).pipe(Effect.provide(toolsLayer(fakeFabric({ joinChannel: () => Effect.fail(fabricError("forbidden")) }).layer))))

  it.effect("leaves a channel, and warns when it is the binding's own", () => {
    const fake = fakeFabric({ leaveChannel: () => Effect.void })
    return Effect.gen(function*() {
      expect(okOf(yield* call("leave_channel", { channel_name: "general", channel_id: "c_x" }))).toBe("left c_x")
      expect(okOf(yield* call("leave_channel", { channel_name: "general", channel_id: "c_general" }))).toBe(
        "left c_general; it is the channel of binding 'general', which receives nothing until the agent is a member again"
      )
      expect(errorOf(yield* call("leave_channel", { channel_name: "general" }))).toContain("channel_id is missing")
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("opens a DM and gives its session id", () => {
    const fake = fakeFabric({ openDm: () => Effect.succeed(channel("c_dm7", "alice-ada", "dm")) })
    return Effect.gen(function*() {
      expect(okOf(yield* call("open_dm", { channel_name: "general", user_id: "u_ada" }))).toBe(
        "the DM with u_ada is c_dm7; send to it with session_id s_fab_c_dm7"
      )
      expect(fake.callsOf("openDm")[0]!.args).toEqual([G, "u_ada"])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })
})

describe("read_messages", () => {
  it.effect("reads a page of history with the given bounds", () => {
    const fake = fakeFabric({
      listMessages: (_g, channelId) => Effect.succeed({ messages: [message("m_1", channelId), message("m_2", channelId)], has_more: true })
    })
    return Effect.gen(function*() {
      const page = JSON.parse(okOf(yield* call("read_messages", { channel_name: "general", limit: 2, before: "m_3" })))
      expect(page.channel_id).toBe("c_general")
      expect(page.messages.map((m: C.Message) => m.id)).toEqual(["m_1", "m_2"])
      expect(page.has_more).toBe(true)
      expect(fake.callsOf("listMessages")[0]!.args).toEqual([G, "c_general", { limit: 2, before: "m_3" }])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("keeps limit within 1–100", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("read_messages", { channel_name: "general", limit: 500 }))).toContain("limit: ")
      expect(errorOf(yield* call("read_messages", { channel_name: "general", limit: 2.5 }))).toContain("limit: ")
    }).pipe(Effect.provide(toolsLayer(fakeFabric({}).layer))))
})
