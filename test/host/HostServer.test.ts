import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { ErrorCodes } from "../../src/host/HostProtocol.js"
import { fakeActivation, profileFailure, startHost } from "./memoryHost.js"

const init = { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "test", version: "1" } }

describe("HostServer", () => {
  it.scopedLive("answers ping and the manifest before initialize", () =>
    Effect.gen(function*() {
      const host = yield* startHost(fakeActivation())
      expect(yield* host.request(1, "ping")).toEqual({ jsonrpc: "2.0", id: 1, result: {} })
      const manifest = (yield* host.request(2, "plexum/manifest", {})).result
      expect(manifest.name).toBe("plexum-fabric-channel")
      expect(manifest.activation).toBe("lazy")
      expect(manifest.contracts.channels).toEqual([{ name: "fabric-main", outbound_tool: "send" }])
      expect(manifest.contracts.tools.map((t: any) => t.name)).toEqual(["send"])
      expect(manifest.contracts.tools[0].input_schema).toEqual({ type: "object" })
    }))

  it.scopedLive("negotiates the protocol version", () =>
    Effect.gen(function*() {
      const host = yield* startHost(fakeActivation())
      const reply = yield* host.request(1, "initialize", { ...init, protocolVersion: "2024-11-05" })
      expect(reply.result.protocolVersion).toBe("2024-11-05")
      expect(reply.result.capabilities).toEqual({ tools: { listChanged: true }, logging: {} })
      expect(reply.result.serverInfo.name).toBe("plexum-fabric-channel")
      const other = yield* startHost(fakeActivation())
      expect((yield* other.request(1, "initialize", { ...init, protocolVersion: "1999-01-01" })).result.protocolVersion)
        .toBe("2025-11-25")
    }))

  it.scopedLive("answers every error code of the protocol and reads on", () =>
    Effect.gen(function*() {
      const host = yield* startHost(fakeActivation())
      yield* host.send("{not json")
      const parse = yield* host.waitFor((m) => m.error?.code === ErrorCodes.parseError)
      expect(parse.id).toBeNull()
      yield* host.send(JSON.stringify({ jsonrpc: "1.0", id: 7, method: "ping" }))
      expect((yield* host.waitFor((m) => m.id === 7)).error.code).toBe(ErrorCodes.invalidRequest)
      yield* host.send(JSON.stringify([1, 2]))
      yield* host.waitFor((m) => m.id === null && m.error?.code === ErrorCodes.invalidRequest)
      expect((yield* host.request(8, "no/such/method")).error).toEqual({ code: ErrorCodes.methodNotFound, message: "unknown method: no/such/method" })
      expect((yield* host.request(9, "tools/call", { name: "send", arguments: {} })).error.code).toBe(ErrorCodes.notInitialized)
      yield* host.request(10, "initialize", init)
      expect((yield* host.request(11, "tools/call", { name: "nope", arguments: {} })).error)
        .toEqual({ code: ErrorCodes.invalidParams, message: "unknown tool: nope" })
      expect((yield* host.request(12, "tools/call", { arguments: {} })).error.code).toBe(ErrorCodes.invalidParams)
      expect((yield* host.request(13, "logging/setLevel", { level: "loud" })).error.code).toBe(ErrorCodes.invalidParams)
      expect((yield* host.request(14, "initialize", init)).error.code).toBe(ErrorCodes.invalidRequest)
      expect((yield* host.request(15, "ping")).result).toEqual({})
    }))

  it.scopedLive("fails initialize with -32603 naming the file and field of a bad profile", () =>
    Effect.gen(function*() {
      const host = yield* startHost(fakeActivation({ profile: profileFailure }))
      const reply = yield* host.request(1, "initialize", init)
      expect(reply.error.code).toBe(ErrorCodes.internalError)
      expect(reply.error.message).toContain("channels/bad.json")
      expect(reply.error.message).toContain("agent_id")
      // still alive and not initialized
      expect((yield* host.request(2, "tools/call", { name: "send" })).error.code).toBe(ErrorCodes.notInitialized)
    }))

  it.scopedLive("calls tools after initialize and starts background work after answering, once", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      let runs = 0
      const host = yield* startHost(fakeActivation({ run: Effect.sync(() => runs++).pipe(Effect.zipRight(Deferred.succeed(started, void 0))) }))
      yield* host.request(1, "initialize", init)
      yield* Deferred.await(started)
      expect((yield* host.request(3, "initialize", init)).error.code).toBe(ErrorCodes.invalidRequest)
      yield* host.request(4, "ping")
      expect(runs).toBe(1)
      const reply = yield* host.request(2, "tools/call", { name: "send", arguments: { channel_name: "x" } })
      expect(reply.result).toEqual({ content: [{ type: "text", text: "sent" }] })
    }))

  it.scopedLive("answers concurrent requests by id, and a cancelled one not at all", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const host = yield* startHost(fakeActivation({
        callTool: (name) =>
          (name === "slow" ? Deferred.await(release) : Effect.void).pipe(
            Effect.as({ content: [{ type: "text" as const, text: name }] })
          )
      }))
      yield* host.request(1, "initialize", init)
      yield* host.send(JSON.stringify({ jsonrpc: "2.0", id: "a", method: "tools/call", params: { name: "slow" } }))
      yield* host.send(JSON.stringify({ jsonrpc: "2.0", id: "c", method: "tools/call", params: { name: "slow" } }))
      const fast = yield* host.request("b", "tools/call", { name: "fast" })
      expect(fast.result.content[0].text).toBe("fast")
      yield* host.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "c" } }))
      yield* host.request(2, "ping") // the cancellation is processed in order before this answer
      yield* Deferred.succeed(release, void 0)
      expect((yield* host.waitFor((m) => m.id === "a")).result.content[0].text).toBe("slow")
      yield* host.request(3, "ping")
      const ids = (yield* host.written).map((m) => m.id)
      expect(ids).not.toContain("c")
      expect(ids.indexOf("b")).toBeLessThan(ids.indexOf("a"))
    }))

  it.scopedLive("compares request ids by type and value: \"1\" and 1 are two requests under way", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const host = yield* startHost(fakeActivation({
        callTool: (name) => Deferred.await(release).pipe(Effect.as({ content: [{ type: "text" as const, text: name }] }))
      }))
      yield* host.request(0, "initialize", init)
      yield* host.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "number" } }))
      yield* host.send(JSON.stringify({ jsonrpc: "2.0", id: "1", method: "tools/call", params: { name: "string" } }))
      yield* host.send(JSON.stringify({ jsonrpc: "2.0", id: "1", method: "tools/call", params: { name: "again" } }))
      const clash = yield* host.waitFor((m) => m.id === "1" && m.error !== undefined)
      expect(clash.error).toEqual({ code: ErrorCodes.invalidRequest, message: `request id "1" is already in use by a request under way` })
      yield* Deferred.succeed(release, void 0)
      expect((yield* host.waitFor((m) => m.id === 1 && m.result !== undefined)).result.content[0].text).toBe("number")
      expect((yield* host.waitFor((m) => m.id === "1" && m.result !== undefined)).result.content[0].text).toBe("string")
    }))

  it.scopedLive("says which param is wrong, and refuses deeply nested params with -32602", () =>
    Effect.gen(function*() {
      const host = yield* startHost(fakeActivation())
      yield* host.request(1, "initialize", init)
      expect((yield* host.request(2, "tools/call", { arguments: {} })).error).toEqual({
        code: ErrorCodes.invalidParams,
        message: `invalid params for tools/call: "name" is missing; send {"name": <a tool from tools/list>, "arguments": {…}}`
      })
      expect((yield* host.request(3, "tools/call", { name: 7 })).error.message).toBe(
        `invalid params for tools/call: "name" must be string; send {"name": <a tool from tools/list>, "arguments": {…}}`
      )
      const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`
      yield* host.send(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"send","arguments":{"message":${deep}}}}`)
      expect((yield* host.waitFor((m) => m.id === 4)).error).toEqual({
        code: ErrorCodes.invalidParams,
        message: "invalid params for tools/call: nested more than 64 levels deep; send flatter arguments"
      })
      expect((yield* host.request(5, "ping")).result).toEqual({})
      expect((yield* host.request(6, "plexum/debug/fibers", { summary: "yes" })).error).toEqual({
        code: ErrorCodes.invalidParams,
        message: `invalid params for plexum/debug/fibers: "summary" must be boolean`
      })
    }))

  it.scopedLive("sends log notifications at or above the level set, only after initialize", () =>
    Effect.gen(function*() {
      const host = yield* startHost(fakeActivation({ run: Effect.logDebug("debug line").pipe(Effect.zipRight(Effect.logWarning("warn line"))) }))
      yield* host.send("garbage") // logs a warning before initialize: stderr only
      yield* host.waitFor((m) => m.error?.code === ErrorCodes.parseError)
      yield* host.request(1, "initialize", init)
      const warn = yield* host.waitFor((m) => m.method === "notifications/message" && m.params.data.message === "warn line")
      expect(warn.params).toMatchObject({ level: "warning", logger: "plexum-fabric-channel" })
      const all = yield* host.written
      expect(all.some((m) => m.params?.data?.message === "debug line")).toBe(false)
      expect(all.some((m) => m.method === "notifications/message" && /rejected a line/.test(m.params.data.message))).toBe(false)
      expect(host.stderr()).toContain("rejected a line")
      yield* host.request(2, "logging/setLevel", { level: "debug" })
      yield* host.send("garbage")
      yield* host.waitFor((m) => m.method === "notifications/message" && /rejected a line/.test(m.params.data.message))
    }))

  it.scopedLive("stops on shutdown, and on end of input", () =>
    Effect.gen(function*() {
      const host = yield* startHost(fakeActivation())
      expect((yield* host.request(1, "shutdown")).result).toEqual({})
      yield* host.stopped
      const other = yield* startHost(fakeActivation())
      yield* other.request(1, "initialize", init)
      yield* other.endInput
      yield* other.stopped.pipe(Effect.timeout("2 seconds"))
    }))

  it.scopedLive("lets a request under way finish on stop", () =>
    Effect.gen(function*() {
      const entered = yield* Deferred.make<void>()
      const host = yield* startHost(fakeActivation({
        callTool: () => Deferred.succeed(entered, void 0).pipe(Effect.zipRight(Effect.yieldNow()), Effect.as({ content: [{ type: "text" as const, text: "finished" }] }))
      }))
      yield* host.request(1, "initialize", init)
      const call = yield* host.request(2, "tools/call", { name: "send" }).pipe(Effect.fork)
      yield* Deferred.await(entered)
      yield* host.endInput
      expect((yield* Fiber.join(call)).result.content[0].text).toBe("finished")
      yield* host.stopped
    }))
})
