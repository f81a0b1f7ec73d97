/**
 * The per-message pipeline (self → gate → dedup → routing → channel queue → host), with the real
 * HostApi writing to memory.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { Channel, Message } from "../../src/fabric/FabricContract.js"
import { Pipeline, type Recipient, toInbound } from "../../src/inbound/Pipeline.js"
import { recordingHost, recordingRegistry, testProfile } from "./fakes.js"
import { presenceOff } from "../presence/support.js"

const recipient: Recipient = { agentId: "a1", guildNodeId: "g_1", userId: "u_agent" }
const group: Channel = { id: "c_team", name: "team", x_type: "group" }
const dm: Channel = { id: "c_dm", name: "dm", x_type: "dm" }

let n = 0
const message = (channel: Channel, fields: Partial<Message> = {}): Message => ({
  id: `m_${++n}`,
  channel_id: channel.id,
  author_id: "u_human",
  author_name: "Ada",
  content: `hello ${n}`,
  wakeup: false,
  created_at: "2025-01-01T00:00:00Z",
  ...fields
})

const bindings = [
  { name: "fabric-team", agentId: "a1", guildNodeId: "g_1", channelId: "c_team" },
  { name: "fabric-other", agentId: "a2", guildNodeId: "g_9", channelId: "c_x" }
]

const setup = Effect.gen(function*() {
  const host = yield* recordingHost
  const layer = Pipeline.Default.pipe(
    Layer.provideMerge(host.layer),
    Layer.provide([presenceOff, recordingRegistry().layer, testProfile({ agents: ["a1", "a2"], bindings })])
  )
  return { host, layer }
})

describe("toInbound", () => {
  it("fills the whole fabric block and derives the session id from the channel", () => {
    const binding = { ...bindings[0]!, file: "channels/fabric-team.json" }
    const m = message(group, {
      wakeup: true,
      reply_to: "m_0",
      attachments: [{ id: "at_1", name: "a.txt", mime: "text/plain", size: 3, url: "http://x/a" }],
      command: { name: "ask", args: "why" }
    })
    expect(toInbound(binding, recipient, group, m)).toEqual({
      channel_name: "fabric-team",
      message: m.content,
      session_id: "s_fab_c_team",
      fabric: {
        agent_id: "a1",
        guild_node_id: "g_1",
        channel_id: "c_team",
        channel_x_type: "group",
        message_id: m.id,
        author_id: "u_human",
        author_name: "Ada",
        wakeup: true,
        created_at: m.created_at,
        reply_to: "m_0",
        attachments: m.attachments,
        command: { name: "ask", args: "why" }
      }
    })
  })

  it("leaves out absent and null optional fields", () => {
    const binding = { ...bindings[0]!, file: "channels/fabric-team.json" }
    const fabric = toInbound(binding, recipient, dm, message(dm, { reply_to: null, command: null, attachments: [] })).fabric
    expect(Object.keys(fabric)).not.toContain("reply_to")
    expect(Object.keys(fabric)).not.toContain("command")
    expect(Object.keys(fabric)).not.toContain("attachments")
  })
})

describe("Pipeline", () => {
  it.scoped("delivers what wakes, once, routed; drops own, gated and duplicate messages", () =>
    Effect.gen(function*() {
      const { host, layer } = yield* setup
      yield* Effect.gen(function*() {
        const pipeline = yield* Pipeline
        const wake = message(group, { wakeup: true })
        const direct = message(dm)
        yield* pipeline.handle(recipient, message(group), group, "socket") // gated
        yield* pipeline.handle(recipient, message(dm, { author_id: "u_agent" }), dm, "socket") // own
        yield* pipeline.handle(recipient, wake, group, "socket")
        yield* pipeline.handle(recipient, wake, group, "socket") // duplicate
        yield* pipeline.handle(recipient, direct, dm, "socket")
        const delivered = yield* host.waitForCount(2)
        // Two channels, two workers: no order between them.
        expect(delivered.map((i) => [i.channel_name, i.session_id, i.fabric.message_id]).sort()).toEqual([
          // A DM reaches the agent through its guild binding.
          ["fabric-team", "s_fab_c_dm", direct.id],
          ["fabric-team", "s_fab_c_team", wake.id]
        ])
        // Nothing else comes after.
        yield* pipeline.handle(recipient, message(dm), dm, "socket")
        expect((yield* host.waitForCount(3)).length).toBe(3)
      }).pipe(Effect.provide(layer))
    }))

  it.scoped("an agent without a binding in the guild gets nothing", () =>
    Effect.gen(function*() {
      const { host, layer } = yield* setup
      yield* Effect.gen(function*() {
        const pipeline = yield* Pipeline
        yield* pipeline.handle({ ...recipient, guildNodeId: "g_unbound" }, message(dm), dm, "socket")
        const last = message(dm)
        yield* pipeline.handle(recipient, last, dm, "socket")
        const delivered = yield* host.waitForCount(1)
        expect(delivered.map((i) => i.fabric.message_id)).toEqual([last.id])
      }).pipe(Effect.provide(layer))
    }))
})
