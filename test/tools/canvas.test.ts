/**
 * Canvas and sub-discussion tools against a fake FabricApi; presence and slash commands too.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type * as C from "../../src/fabric/FabricContract.js"
import { call, errorOf, fabricError, fakeFabric, okOf, toolsLayer } from "./fixtures.js"

const G = { agentId: "alice", guildNodeId: "g_acme" }

const canvas = (version: number, content = "# Plan"): C.Canvas => ({
  channel_id: "c_general",
  content,
  version,
  updated_at: "2026-01-01T00:00:00Z",
  updated_by: "u_ada"
})

describe("canvas", () => {
  it.effect("reads the canvas as JSON", () =>
    Effect.gen(function*() {
      expect(JSON.parse(okOf(yield* call("get_canvas", { channel_name: "general" })))).toEqual(canvas(3))
    }).pipe(Effect.provide(toolsLayer(fakeFabric({ getCanvas: () => Effect.succeed(canvas(3)) }).layer))))

  it.effect("writes with the base version and reports the new one", () => {
    const fake = fakeFabric({ putCanvas: (_g, _c, content, base) => Effect.succeed(canvas(base + 1, content)) })
    return Effect.gen(function*() {
      expect(okOf(yield* call("update_canvas", { channel_name: "general", content: "# New", base_version: 3 }))).toBe(
        "the canvas of c_general is now version 4"
      )
      expect(fake.callsOf("putCanvas")[0]!.args).toEqual([G, "c_general", "# New", 3])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("on a conflict, names the current version to merge against", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("update_canvas", { channel_name: "general", content: "x", base_version: 2 }))).toBe(
        "the canvas of c_general changed since version 2: it is now version 5 (by u_ada at 2026-01-01T00:00:00Z); " +
          "read it with get_canvas, merge your change, and retry with base_version 5"
      )
    }).pipe(Effect.provide(toolsLayer(fakeFabric({
      putCanvas: () => Effect.fail(fabricError("conflict", { status: 409, code: "version_conflict", current: canvas(5) }))
    }).layer))))

  it.effect("on a conflict without the current canvas, says to read it again", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("update_canvas", { channel_name: "general", content: "x", base_version: 2 }))).toBe(
        "the canvas of c_general changed since version 2; read it with get_canvas, merge your change, and retry with its version"
      )
    }).pipe(Effect.provide(toolsLayer(fakeFabric({ putCanvas: () => Effect.fail(fabricError("conflict")) }).layer))))

  it.effect("rejects a negative or fractional base_version", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("update_canvas", { channel_name: "general", content: "x", base_version: -1 }))).toContain("base_version: ")
      expect(errorOf(yield* call("update_canvas", { channel_name: "general", content: "x", base_version: 1.5 }))).toContain("base_version: ")
    }).pipe(Effect.provide(toolsLayer(fakeFabric({}).layer))))
})

describe("sub-discussions", () => {
  const sub = (status: "open" | "closed"): C.SubDiscussion => ({
    id: "sd_1",
    parent_channel_id: "c_general",
    channel_id: "c_sd1",
    title: "Naming",
    status,
    participant_ids: ["u_ada"],
    created_by: "u_alice"
  })

  it.effect("opens one from the session's channel and says how to send to it", () => {
    const fake = fakeFabric({ createSubDiscussion: () => Effect.succeed(sub("open")) })
    return Effect.gen(function*() {
      expect(okOf(yield* call("create_sub_discussion", {
        channel_name: "general",
        session_id: "s_fab_c_general",
        title: "Naming",
        participant_ids: ["u_ada"],
        anchor_message_id: "m_7"
      }))).toBe(`opened sub-discussion sd_1 "Naming" as channel c_sd1 under c_general; send to it with session_id s_fab_c_sd1`)
      expect(fake.callsOf("createSubDiscussion")[0]!.args).toEqual([G, "c_general", {
        title: "Naming",
        participant_ids: ["u_ada"],
        anchor_message_id: "m_7"
      }])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("lists them with the session id of each one's channel", () =>
    Effect.gen(function*() {
      const listed = JSON.parse(okOf(yield* call("list_sub_discussions", { channel_name: "general" })))
      expect(listed).toEqual({ channel_id: "c_general", sub_discussions: [{ ...sub("open"), session_id: "s_fab_c_sd1" }] })
    }).pipe(Effect.provide(toolsLayer(fakeFabric({ listSubDiscussions: () => Effect.succeed([sub("open")]) }).layer))))

  it.effect("closes one with a summary, and explains an unknown id", () => {
    const fake = fakeFabric({
      closeSubDiscussion: (_g, id) => (id === "sd_1" ? Effect.succeed(sub("closed")) : Effect.fail(fabricError("not_found")))
    })
    return Effect.gen(function*() {
      expect(okOf(yield* call("close_sub_discussion", { channel_name: "general", sub_discussion_id: "sd_1", summary: "Use X" })))
        .toBe(`closed sub-discussion sd_1 "Naming"`)
      expect(fake.callsOf("closeSubDiscussion")[0]!.args).toEqual([G, "sd_1", "Use X"])
      expect(errorOf(yield* call("close_sub_discussion", { channel_name: "general", sub_discussion_id: "sd_9" }))).toBe(
        "sub-discussion sd_9 was not found in guild g_acme; list_sub_discussions shows them"
      )
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })
})

describe("presence and slash commands", () => {
  it.effect("sets presence in the binding's guild", () => {
    const fake = fakeFabric({ putPresence: () => Effect.void })
    return Effect.gen(function*() {
      expect(okOf(yield* call("set_presence", { channel_name: "ops", status: "dnd", activity: "deploying" }))).toBe(
        `agent "bob" is dnd in guild g_other (deploying)`
      )
      expect(fake.callsOf("putPresence")[0]!.args).toEqual([{ agentId: "bob", guildNodeId: "g_other" }, "dnd", "deploying"])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("replaces the slash commands, and clears them with an empty list", () => {
    const fake = fakeFabric({ putCommands: () => Effect.void })
    return Effect.gen(function*() {
      const commands = [{ name: "summarize", description: "Summarize the channel", options: [{ name: "since", description: "a date" }] }]
      expect(okOf(yield* call("set_commands", { channel_name: "general", commands }))).toBe(
        "registered 1 slash command(s) in guild g_acme: /summarize"
      )
      expect(fake.callsOf("putCommands")[0]!.args).toEqual([G, commands])
      expect(okOf(yield* call("set_commands", { channel_name: "general", commands: [] }))).toBe(
        `removed the slash commands of agent "alice" in guild g_acme`
      )
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })
})
