/**
 * The catalog and the call envelope: static schemas, argument errors as one line, unknown
 * tools, defects, the span of each call, and no key in any text.
 */
import { ListToolsResultSchema } from "@modelcontextprotocol/sdk/types.js"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { UnknownTool } from "../../src/host/HostProtocol.js"
import { toolCatalog, Tools } from "../../src/tools/Tools.js"
import { ALICE_KEY, call, errorOf, fabricError, fakeFabric, message, okOf, recordingTracer, toolsLayer } from "./fixtures.js"

const schemaOf = (name: string) => toolCatalog.find((tool) => tool.name === name)!.inputSchema as any

describe("toolCatalog", () => {
  it("is static, with unique names and an object schema per tool", () => {
    const names = toolCatalog.map((tool) => tool.name)
    expect(new Set(names).size).toBe(names.length)
    expect(names).toEqual([
      "send",
      "send_file",
      "read_attachment",
      "list_channels",
      "get_channel",
      "create_channel",
      "join_channel",
      "leave_channel",
      "open_dm",
      "read_messages",
      "get_canvas",
      "update_canvas",
      "list_sub_discussions",
      "create_sub_discussion",
      "close_sub_discussion",
      "set_presence",
      "set_commands"
    ])
    for (const tool of toolCatalog) {
      expect(tool.description.length).toBeGreaterThan(20)
      expect(schemaOf(tool.name)).toMatchObject({ type: "object", additionalProperties: false })
      expect(schemaOf(tool.name).required).toContain("channel_name")
      expect(JSON.stringify(tool.inputSchema)).not.toContain("$ref")
    }
  })

  it("is a tools/list result an MCP client accepts", () => {
    const parsed = ListToolsResultSchema.safeParse({ tools: toolCatalog })
    expect(parsed.success ? "ok" : parsed.error.message).toBe("ok")
  })

  it("gives send exactly the input of host-protocol.md", () => {
    const send = schemaOf("send")
    expect(send.required).toEqual(["channel_name", "message"])
    expect(Object.keys(send.properties).sort()).toEqual(["channel_name", "message", "reply_to", "session_id", "wakeup"])
    expect(send.properties.message).toMatchObject({ type: "string", minLength: 1 })
    expect(send.properties.message.maxLength).toBeUndefined()
    expect(send.properties.wakeup).toMatchObject({ type: "boolean" })
    expect(send.properties.session_id).toMatchObject({ type: "string" })
  })

  it("is what Tools.list serves", () =>
    Effect.gen(function*() {
      expect((yield* Tools).list).toBe(toolCatalog)
    }).pipe(Effect.provide(toolsLayer(fakeFabric({}).layer)), Effect.runPromise))
})

describe("Tools.call", () => {
  const layer = () => toolsLayer(fakeFabric({}).layer)

  it.effect("fails with UnknownTool for a name it does not have", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(call("sned", {}))
      expect(exit).toEqual(Exit.fail(new UnknownTool({ name: "sned" })))
    }).pipe(Effect.provide(layer())))

  it.effect("reports every argument problem in one line naming the fields", () =>
    Effect.gen(function*() {
      const line = errorOf(yield* call("send", { message: 42, wakeup: "yes", colour: "red" }))
      expect(line).not.toContain("\n")
      expect(line).toMatch(/^invalid arguments for send: /)
      expect(line).toContain("channel_name is missing")
      expect(line).toContain("message: Expected string, actual 42")
      expect(line).toContain("wakeup: Expected boolean")
      expect(line).toContain("colour is not an argument of this tool")
    }).pipe(Effect.provide(layer())))

  it.effect("refuses an empty message before calling Fabric; a long one is not an argument error (v1.1 chunks it)", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("send", { channel_name: "general", message: "" }))).toContain("message: must not be empty")
      // Valid input, so it reaches Fabric, which this fake does not have (a defect, reported as such).
      expect(errorOf(yield* call("send", { channel_name: "general", message: "x".repeat(4001) }))).toContain("failed unexpectedly")
    }).pipe(Effect.provide(layer())))

  it.effect("merges the members of a literal union into one expectation", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("set_presence", { channel_name: "general", status: "away" }))).toBe(
        `invalid arguments for set_presence: status: expected "online" or "idle" or "dnd" or "offline", actual "away"; see the tool's inputSchema`
      )
    }).pipe(Effect.provide(layer())))

  it.effect("says the arguments must be an object", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("send", "hello"))).toContain("the arguments must be a JSON object")
    }).pipe(Effect.provide(layer())))

  it.effect("names the bound channels and the bind command for an unbound channel_name", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("send", { channel_name: "genral", message: "hi" }))).toBe(
        "channel 'genral' is not bound; bound channels: general, ops, random. Add a binding with plexum-fabric-bind"
      )
    }).pipe(Effect.provide(layer())))

  it.effect("turns a defect into an error result, not a crash", () =>
    Effect.gen(function*() {
      expect(errorOf(yield* call("list_channels", { channel_name: "general" }))).toBe(
        "tool list_channels failed unexpectedly; the plugin log has the details"
      )
    }).pipe(Effect.provide(layer())))

  it.effect("never lets an API key through, even quoted in a Fabric error", () =>
    Effect.gen(function*() {
      const line = errorOf(yield* call("send", { channel_name: "general", message: "hi" }))
      expect(line).not.toContain(ALICE_KEY)
      expect(line).toContain("[redacted]")
    }).pipe(Effect.provide(toolsLayer(fakeFabric({
      postMessage: () => Effect.fail(fabricError("bad_request", { message: `bad api_key ${ALICE_KEY}` }))
    }).layer))))

  it.effect("runs each call in a span tool.<name> carrying ids, never the message text", () => {
    const recorder = recordingTracer()
    return Effect.gen(function*() {
      okOf(yield* call("send", { channel_name: "general", message: "top secret plans" }))
      const span = recorder.spans.find((s) => s.name === "tool.send")!
      expect(Object.fromEntries(span.attributes)).toMatchObject({
        tool: "send",
        agent: "alice",
        guild: "g_acme",
        channel: "c_general",
        outcome: "ok"
      })
      expect(JSON.stringify(recorder.spans.map((s) => [...s.attributes.values()]))).not.toContain("top secret")
    }).pipe(
      Effect.provide(toolsLayer(fakeFabric({
        postMessage: (_g, channelId, body) => Effect.succeed(message("m_1", channelId, body.content)),
        listChannels: () => Effect.succeed([])
      }).layer)),
      Effect.withTracer(recorder.tracer)
    )
  })
})
