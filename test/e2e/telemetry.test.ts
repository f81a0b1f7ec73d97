/**
 * The built plugin exporting to an OTLP receiver inside the test, against the sim: the trace of
 * a delivered DM, of a gated message and of a tool call arrive by the time the plugin has
 * stopped, and no byte of any export carries a key, a token or message text.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { Sim } from "../../src/sim/Sim.js"
import { SpanNames, toolSpan } from "../../src/telemetry/Spans.js"
import type { ReceivedSpan } from "../telemetry/OtlpReceiver.js"
import { makeOtlpReceiver } from "../telemetry/OtlpReceiver.js"
import { binding, initializeParams, makeProfile, sessionsLive, startPlugin } from "./harness.js"

const dmText = "dm-text-7f3a: can you look at the build?"
const gatedText = "gated-text-91c2: lunch anyone"
const replyText = "reply-text-c0de: on it"

/** The batch span that decided `messageId`, and that message's outcome in it. */
const batchOf = (spans: ReadonlyArray<ReceivedSpan>, messageId: string) => {
  for (const span of spans) {
    if (span.name !== SpanNames.inboundBatch) continue
    const at = (span.attributes.message_ids as ReadonlyArray<string>).indexOf(messageId)
    if (at >= 0) return { span, outcome: (span.attributes.outcomes as ReadonlyArray<string>)[at] }
  }
  return undefined
}

describe("telemetry end to end", () => {
  it.scopedLive("exports the traces of a delivered DM, a gated message and a tool call, and no secret or text", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver()
      const sim = yield* Sim.start()
      const guild = yield* sim.createGuild({ name: "Acme" })
      const agent = yield* sim.createAgent({ display_name: "Scout" })
      const human = yield* sim.createUser({ display_name: "Ada" })
      yield* sim.addMember(guild.node_id, agent.id)
      yield* sim.addMember(guild.node_id, human.id)
      const dm = yield* sim.openDm(guild.node_id, human.id, agent.id)
      const general = yield* sim.createChannel(guild.node_id, {
        name: "general",
        x_type: "public",
        member_ids: [agent.id, human.id]
      })

      const root = yield* makeProfile({
        config: { center_api_base: sim.centerApiBase },
        agents: { scout: { apiKey: Redacted.value(agent.api_key) } },
        bindings: {
          "fabric-dm": binding("scout", guild.node_id, dm.id),
          "fabric-general": binding("scout", guild.node_id, general.id)
        }
      })
      const plugin = yield* startPlugin({
        profileRoot: root,
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SERVICE_NAME: "fabric-e2e" }
      })
      yield* plugin.call("initialize", initializeParams)
      yield* plugin.notify("notifications/initialized")
      yield* sessionsLive(plugin)

      // Both arrive on the one socket, in order: once the DM is delivered, the gate has run.
      const gatedMessage = yield* sim.postMessage(guild.node_id, general.id, { author_id: human.id, content: gatedText, wakeup: false })
      const dmMessage = yield* sim.postMessage(guild.node_id, dm.id, { author_id: human.id, content: dmText })
      yield* plugin.waitFor((m) => m.method === "notifications/plexum/channel/inbound")
      const sent = yield* plugin.call("tools/call", {
        name: "send",
        arguments: { channel_name: "fabric-dm", message: replyText }
      })
      expect(sent.isError).toBeUndefined()

      yield* plugin.closeStdin
      expect(yield* plugin.exited()).toEqual({ code: 0, signal: null })

      const got = yield* receiver.waitFor(
        (r) =>
          batchOf(r.spans, dmMessage.id) !== undefined &&
          batchOf(r.spans, gatedMessage.id) !== undefined &&
          r.spans.some((s) => s.name === toolSpan("send")),
        "3 seconds"
      )

      // Each message is findable by id in the batch span that decided it, with its outcome.
      const delivered = batchOf(got.spans, dmMessage.id)!
      expect(delivered.outcome).toBe("delivered")
      expect(delivered.span.resource["service.name"]).toBe("fabric-e2e")
      expect(delivered.span.attributes).toMatchObject({ agent: "scout", guild: guild.node_id, source: "socket" })
      expect(delivered.span.parentSpanId).toBeUndefined()
      // Linked to the socket session that received it (that span ends, and is sent, at the stop).
      const sessions = new Set(got.spans.filter((s) => s.name === SpanNames.socketSession).map((s) => s.spanId))
      expect(delivered.span.links.some((l) => sessions.has(l.spanId))).toBe(true)
      expect(batchOf(got.spans, gatedMessage.id)!.outcome).toBe("gated")

      // A tool call belongs to the host request that made it, not to the `initialize` that
      // activated the tools.
      const tool = got.spans.find((s) => s.name === toolSpan("send"))!
      const toolTrace = got.spans.filter((s) => s.traceId === tool.traceId).map((s) => s.name)
      expect(toolTrace).toContain("jsonrpc tools/call")
      expect(toolTrace).not.toContain("jsonrpc initialize")
      expect(toolTrace.some((name) => name.startsWith("fabric.rest "))).toBe(true)

      expect(got.metrics.map((m) => m.name)).toEqual(
        expect.arrayContaining(["plexum_fabric.inbound.delivered", "plexum_fabric.inbound.dropped"])
      )

      // Logs are exported too, those written inside a span with its trace id.
      expect(got.logs.some((l) => l.traceId !== undefined)).toBe(true)

      const raw = yield* receiver.rawText
      for (const secret of [Redacted.value(agent.api_key), dmText, gatedText, replyText]) {
        expect(raw).not.toContain(secret)
      }
      // Any JWT (the guild access tokens) starts with a base64url JSON header.
      expect(raw).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/)
      expect(raw.toLowerCase()).not.toContain("bearer")
    }))
})
