/**
 * `send`: outbound routing (profile.md), the membership check and its cache, and Fabric errors
 * as one line.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref, TestClock } from "effect"
import type { FabricApi } from "../../src/fabric/FabricApi.js"
import type * as C from "../../src/fabric/FabricContract.js"
import { SessionError } from "../../src/fabric/GuildAccess.js"
import { call, channel, errorOf, fabricError, fakeFabric, message, okOf, toolsLayer } from "./fixtures.js"

/** Alice is a member of these channels in g_acme. */
const aliceChannels = [channel("c_general", "general"), channel("c_dm", "alice-ada", "dm"), channel("c_sub", "design", "sub_discussion")]

const posting = (channels: ReadonlyArray<C.Channel> = aliceChannels, extra: Partial<FabricApi> = {}) =>
  fakeFabric({
    listChannels: () => Effect.succeed(channels),
    postMessage: (_g, channelId, body) => Effect.succeed(message(`m_${channelId}`, channelId, body.content)),
    ...extra
  })

const postedTo = (fake: ReturnType<typeof fakeFabric>) => fake.callsOf("postMessage").map((c) => c.args[1])

describe("send", () => {
  it.effect("posts to the binding's channel and answers with the new message id", () => {
    const fake = posting()
    return Effect.gen(function*() {
      expect(okOf(yield* call("send", { channel_name: "general", message: "hello" }))).toBe(
        "sent m_c_general to #general (c_general)"
      )
      expect(fake.callsOf("postMessage")[0]!.args).toEqual([{ agentId: "alice", guildNodeId: "g_acme" }, "c_general", {
        content: "hello"
      }])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("passes reply_to and wakeup through", () => {
    const fake = posting()
    return Effect.gen(function*() {
      okOf(yield* call("send", { channel_name: "general", message: "yes", reply_to: "m_9", wakeup: true }))
      expect(fake.callsOf("postMessage")[0]!.args[2]).toEqual({ content: "yes", reply_to: "m_9", wakeup: true })
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("routes to the session's channel when the agent is a member of it", () => {
    const fake = posting()
    return Effect.gen(function*() {
      expect(okOf(yield* call("send", { channel_name: "general", message: "in the DM", session_id: "s_fab_c_dm" }))).toBe(
        "sent m_c_dm to #alice-ada (c_dm)"
      )
      expect(postedTo(fake)).toEqual(["c_dm"])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("falls back to the binding's channel when the agent is not a member of the session's channel", () => {
    const fake = posting()
    return Effect.gen(function*() {
      okOf(yield* call("send", { channel_name: "general", message: "hi", session_id: "s_fab_c_elsewhere" }))
      expect(postedTo(fake)).toEqual(["c_general"])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("ignores a session id that is not a Fabric one", () => {
    const fake = posting()
    return Effect.gen(function*() {
      okOf(yield* call("send", { channel_name: "general", message: "hi", session_id: "s_slack_C1" }))
      expect(postedTo(fake)).toEqual(["c_general"])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("checks membership in the binding's agent and guild", () => {
    const fake = posting([channel("c_ops", "ops"), channel("c_dm", "bob-dm", "dm")])
    return Effect.gen(function*() {
      okOf(yield* call("send", { channel_name: "ops", message: "hi", session_id: "s_fab_c_dm" }))
      expect(fake.callsOf("listChannels")[0]!.args).toEqual([{ agentId: "bob", guildNodeId: "g_other" }])
      expect(fake.callsOf("postMessage")[0]!.args.slice(0, 2)).toEqual([{ agentId: "bob", guildNodeId: "g_other" }, "c_dm"])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("looks again once when a channel is missing from the cached list (joined a moment ago)", () =>
    Effect.gen(function*() {
      const joined = yield* Ref.make(false)
      const fake = fakeFabric({
        listChannels: () => Effect.map(Ref.get(joined), (j) => (j ? [...aliceChannels, channel("c_new", "new")] : aliceChannels)),
        postMessage: (_g, channelId, body) => Effect.succeed(message("m_1", channelId, body.content))
      })
      yield* Effect.gen(function*() {
        okOf(yield* call("send", { channel_name: "general", message: "a", session_id: "s_fab_c_dm" }))
        expect(fake.callsOf("listChannels")).toHaveLength(1)
        yield* Ref.set(joined, true)
        okOf(yield* call("send", { channel_name: "general", message: "b", session_id: "s_fab_c_new" }))
        expect(fake.callsOf("listChannels")).toHaveLength(2)
        expect(postedTo(fake)).toEqual(["c_dm", "c_new"])
      }).pipe(Effect.provide(toolsLayer(fake.layer)))
    }))

  it.effect("trusts the cached channel list for 30 seconds", () => {
    const fake = posting()
    return Effect.gen(function*() {
      const dm = { channel_name: "general", message: "hi", session_id: "s_fab_c_dm" }
      okOf(yield* call("send", dm))
      okOf(yield* call("send", dm))
      expect(fake.callsOf("listChannels")).toHaveLength(1)
      yield* TestClock.adjust("31 seconds")
      okOf(yield* call("send", dm))
      expect(fake.callsOf("listChannels")).toHaveLength(2)
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("reports a channel the agent is not a member of, and what to do", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("send", { channel_name: "general", message: "hi" }))).toBe(
        "the agent is not a member of c_general (not_member); ask a member to invite it"
      )
    }).pipe(Effect.provide(toolsLayer(posting(aliceChannels, {
      postMessage: () => Effect.fail(fabricError("forbidden", { status: 403, code: "not_member" }))
    }).layer))))

  it.effect("points at the binding file when the bound channel does not exist", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("send", { channel_name: "general", message: "hi" }))).toBe(
        "channel c_general was not found in guild g_acme; check fabric_channel_id in channels/general.json"
      )
    }).pipe(Effect.provide(toolsLayer(posting(aliceChannels, {
      postMessage: () => Effect.fail(fabricError("not_found", { status: 404 }))
    }).layer))))

  it.effect("tells how to fix a missing identity without showing any key", () =>
    Effect.gen(function*() {
      const line = errorOf(yield* call("send", { channel_name: "general", message: "hi", session_id: "s_fab_c_dm" }))
      expect(line).toBe(
        `agent "alice" has no enabled Fabric identity; add its API key with plexum-fabric-register --agent-id alice`
      )
    }).pipe(Effect.provide(toolsLayer(fakeFabric({
      listChannels: () => Effect.fail(new SessionError({ agentId: "alice", reason: "no_identity", message: "none" }))
    }).layer))))

  it.effect("reports an unreachable guild as transient", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("send", { channel_name: "general", message: "hi" }))).toBe(
        "guild g_acme cannot be reached (POST /api/channels/{id}/messages); retry in a moment"
      )
    }).pipe(Effect.provide(toolsLayer(posting(aliceChannels, {
      postMessage: () => Effect.fail(fabricError("unavailable", { status: 503 }))
    }).layer))))

  it.effect("reports rate limiting and a refused login with the command that fixes it", () =>
    Effect.gen(function*() {
      const fake = fakeFabric({ postMessage: () => Effect.fail(fabricError("rate_limited")) })
      expect(errorOf(yield* call("send", { channel_name: "general", message: "hi" }).pipe(Effect.provide(toolsLayer(fake.layer)))))
        .toBe(`Fabric is rate limiting agent "alice"; wait a minute, then retry`)
      const refused = fakeFabric({ postMessage: () => Effect.fail(fabricError("unauthorized", { status: 401 })) })
      expect(errorOf(yield* call("send", { channel_name: "general", message: "hi" }).pipe(Effect.provide(toolsLayer(refused.layer)))))
        .toBe(`Fabric refused agent "alice" even after a new login; check its API key with plexum-fabric-register --agent-id alice`)
    }))
})
