/**
 * MCP compatibility: the official MCP TypeScript SDK client drives the built plugin over stdio
 * — initialize, tools/list, tools/call `send` — and receives the plugin's inbound notifications
 * through its fallback handler.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Redacted } from "effect"
import { Sim } from "../../src/sim/Sim.js"
import { binding, makeProfile, pluginBin } from "./harness.js"

describe("MCP SDK client", () => {
  it.scopedLive("initializes the plugin, lists its tools and sends through it", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      const guild = yield* sim.createGuild({ name: "Acme" })
      const alice = yield* sim.createUser({ display_name: "Alice" })
      const scout = yield* sim.createAgent({ display_name: "Scout" })
      for (const user of [alice, scout]) yield* sim.addMember(guild.node_id, user.id)
      const general = yield* sim.createChannel(guild.node_id, { name: "general", x_type: "group", member_ids: [alice.id, scout.id] })
      const root = yield* makeProfile({
        config: { center_api_base: sim.centerApiBase },
        agents: { scout: { apiKey: Redacted.value(scout.api_key) } },
        bindings: { "fabric-main": binding("scout", guild.node_id, general.id) }
      })

      const client = new Client({ name: "mcp-e2e", version: "1.0.0" })
      const inbound = yield* Deferred.make<any>()
      client.fallbackNotificationHandler = async (notification) => {
        if (notification.method === "notifications/plexum/channel/inbound") Effect.runSync(Deferred.succeed(inbound, notification.params))
      }
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [pluginBin],
        env: { PATH: process.env.PATH ?? "", PLEXUM_PROFILE_ROOT: root },
        stderr: "pipe"
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => client.connect(transport)),
        () => Effect.promise(() => client.close())
      )
      expect(client.getServerVersion()?.name).toBe("plexum-fabric-channel")
      expect(client.getServerCapabilities()).toMatchObject({ tools: { listChanged: true }, logging: {} })

      const { tools } = yield* Effect.promise(() => client.listTools())
      const send = tools.find((tool) => tool.name === "send")
      expect(send?.inputSchema.required).toEqual(["channel_name", "message"])
      expect(Object.keys(send?.inputSchema.properties ?? {})).toEqual(
        expect.arrayContaining(["channel_name", "message", "session_id", "reply_to", "wakeup"])
      )

      const result = yield* Effect.promise(() =>
        client.callTool({ name: "send", arguments: { channel_name: "fabric-main", message: "hello from MCP" } })
      )
      expect(result.isError).toBeUndefined()
      const stored = (yield* sim.messages(guild.node_id, general.id)).find((m) => m.content === "hello from MCP")
      expect(stored?.author_id).toBe(scout.id)
      expect(JSON.stringify(result.content)).toContain(stored!.id)

      const refused = yield* Effect.promise(() =>
        client.callTool({ name: "send", arguments: { channel_name: "nowhere", message: "x" } })
      )
      expect(refused.isError).toBe(true)
      yield* Effect.promise(() => client.setLoggingLevel("warning"))

      yield* sim.postMessage(guild.node_id, general.id, { author_id: alice.id, content: "@Scout ping", wakeup: true })
      const delivered = yield* Deferred.await(inbound).pipe(Effect.timeout("15 seconds"))
      expect(delivered).toMatchObject({ channel_name: "fabric-main", message: "@Scout ping", session_id: `s_fab_${general.id}` })
    }), 60_000)
})
