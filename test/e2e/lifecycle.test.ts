/**
 * The built plugin over real stdio, without Fabric: protocol errors, profile errors, and the
 * four ways to stop (shutdown, end of input, SIGTERM, SIGINT), each with exit status 0.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { binding, initializeParams, makeProfile, startPlugin } from "./harness.js"

describe("plugin lifecycle over stdio", () => {
  it.scopedLive("answers every error code and reads on after bad lines", () =>
    Effect.gen(function*() {
      const root = yield* makeProfile({ bindings: { "fabric-main": binding("a1", "g_1", "c_1") } })
      const plugin = yield* startPlugin({ profileRoot: root })
      yield* plugin.send("this is not json")
      expect((yield* plugin.waitFor((m) => m.error?.code === -32700)).id).toBeNull()
      yield* plugin.send(JSON.stringify({ jsonrpc: "2.0", id: "x", method: 42 }))
      expect((yield* plugin.waitFor((m) => m.id === "x")).error.code).toBe(-32600)
      expect((yield* plugin.request("tools/call", { name: "send", arguments: {} })).error.code).toBe(-32002)
      expect((yield* plugin.request("what/ever")).error.code).toBe(-32601)
      const manifest = yield* plugin.call("plexum/manifest", {})
      expect(manifest.contracts.channels).toEqual([{ name: "fabric-main", outbound_tool: "send" }])
      yield* plugin.call("initialize", initializeParams)
      expect((yield* plugin.request("tools/call", { name: "no_such_tool", arguments: {} })).error)
        .toEqual({ code: -32602, message: "unknown tool: no_such_tool" })
      expect((yield* plugin.request("tools/call", "not an object")).error.code).toBe(-32602)
      expect(yield* plugin.call("ping")).toEqual({})
      const { stdout } = yield* plugin.output
      for (const line of stdout.split("\n").filter((l) => l.length > 0)) {
        expect(JSON.parse(line).jsonrpc).toBe("2.0")
      }
      expect(yield* plugin.call("shutdown")).toEqual({})
      expect(yield* plugin.exited()).toEqual({ code: 0, signal: null })
    }))

  it.scopedLive("--profile <dir> wins over PLEXUM_PROFILE_ROOT", () =>
    Effect.gen(function*() {
      const good = yield* makeProfile({ bindings: { "fabric-main": binding("a1", "g_1", "c_1") } })
      const malformed = yield* makeProfile({ bindings: { broken: "{ not json" } })
      const plugin = yield* startPlugin({ profileRoot: malformed, args: ["--profile", good] })
      const manifest = yield* plugin.call("plexum/manifest", {})
      expect(manifest.contracts.channels).toEqual([{ name: "fabric-main", outbound_tool: "send" }])
      yield* plugin.call("initialize", initializeParams)
      yield* plugin.closeStdin
      expect((yield* plugin.exited()).code).toBe(0)
    }))

  it.scopedLive("fails initialize with -32603 naming a malformed or wrongly-typed binding file", () =>
    Effect.gen(function*() {
      const malformed = yield* makeProfile({ bindings: { broken: "{ not json" } })
      const first = yield* startPlugin({ profileRoot: malformed })
      const reply = yield* first.request("initialize", initializeParams)
      expect(reply.error.code).toBe(-32603)
      expect(reply.error.message).toContain("channels/broken.json")
      yield* first.closeStdin

      const wrongType = yield* makeProfile({ bindings: { typed: binding("a1", "g_1", "c_1", { agent_id: 42 }) } })
      const second = yield* startPlugin({ profileRoot: wrongType })
      const typed = yield* second.request("initialize", initializeParams)
      expect(typed.error.code).toBe(-32603)
      expect(typed.error.message).toContain("channels/typed.json")
      expect(typed.error.message).toContain("agent_id")
      expect((yield* second.call("ping"))).toEqual({})
      yield* second.closeStdin
      expect((yield* first.exited()).code).toBe(0)
      expect((yield* second.exited()).code).toBe(0)
    }))

  it.scopedLive("stops with status 0 within 2 s of end of input, and on SIGTERM and SIGINT", () =>
    Effect.gen(function*() {
      const root = yield* makeProfile({})
      const [eof, term, int] = yield* Effect.all([
        startPlugin({ profileRoot: root }),
        startPlugin({ profileRoot: root }),
        startPlugin({ profileRoot: root })
      ])
      yield* Effect.all([eof, term, int].map((p) => p.call("initialize", initializeParams)), { concurrency: "unbounded" })
      yield* eof.closeStdin
      expect(yield* eof.exited("2 seconds")).toEqual({ code: 0, signal: null })
      yield* term.kill("SIGTERM")
      expect(yield* term.exited()).toEqual({ code: 0, signal: null })
      yield* int.kill("SIGINT")
      expect(yield* int.exited()).toEqual({ code: 0, signal: null })
    }))

  it.scopedLive("announces binding files added while running, and ignores a broken one", () =>
    Effect.gen(function*() {
      const root = yield* makeProfile({ bindings: { "first": binding("a1", "g_1", "c_1") } })
      const plugin = yield* startPlugin({ profileRoot: root })
      yield* plugin.call("initialize", initializeParams)
      const channels = Effect.map(plugin.call("plexum/manifest", {}), (m) => m.contracts.channels.map((c: any) => c.name))
      yield* Effect.promise(() => writeFile(join(root, "channels/second.json"), JSON.stringify(binding("a2", "g_1", "c_2"))))
      yield* plugin.waitFor((m) => m.method === "notifications/tools/list_changed")
      expect(yield* channels).toEqual(["first", "second"])
      yield* Effect.promise(() => writeFile(join(root, "channels/third.json"), "{ broken"))
      yield* plugin.waitFor((m) => m.method === "notifications/message" && /profile change ignored.*third\.json/.test(m.params.data.message))
      expect(yield* channels).toEqual(["first", "second"])
      yield* plugin.closeStdin
      expect((yield* plugin.exited("2 seconds")).code).toBe(0)
    }))
})
