/**
 * The inbound decisions as plain functions over a batch: no socket, no Effect. What each event
 * becomes (a notification line or a drop with its reason), where the cursor goes, and where
 * deciding stops for I/O.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import type { Channel, Message } from "../../src/fabric/FabricContract.js"
import type { SocketEvent } from "../../src/fabric/GuildSocket.js"
import { Inbound, Methods } from "../../src/host/HostProtocol.js"
import { Batch } from "../../src/inbound/Batch.js"
import { ChannelState } from "../../src/inbound/ChannelState.js"
import { mergeBurst } from "../../src/inbound/Coalescer.js"
import { Cursor } from "../../src/inbound/Cursor.js"
import {
  decideEvents,
  decideMessage,
  flushCaughtUp,
  nextDue,
  releaseAll,
  releaseDue,
  type SessionView,
  skipMessage
} from "../../src/inbound/Decide.js"
import { HandledRun } from "../../src/inbound/HandledRun.js"
import { IdRing } from "../../src/inbound/IdRing.js"
import { type Extras, inboundLine, inboundPrefix } from "../../src/inbound/Notification.js"
import { AgentLoopGuard, OncePer, WakeAdmission } from "../../src/inbound/WakeAdmission.js"
import { type Binding, defaultConfig, type PluginConfig } from "../../src/profile/ProfileSchema.js"

const recipient = { agentId: "a1", guildNodeId: "g_1", userId: "u_agent" }
const team: Channel = { id: "c_team", name: "team", x_type: "group" }
const dm: Channel = { id: "c_dm", name: "dm", x_type: "dm" }
const binding: Binding = { name: "fabric-team", agentId: "a1", guildNodeId: "g_1", channelId: "c_team", file: "channels/fabric-team.json" }

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
const created = (m: Message): SocketEvent => ({ name: "message.created", payload: m })

const world = (bindings: ReadonlyArray<Binding> = [binding], config: Partial<PluginConfig> = {}, agentUsers: ReadonlyArray<string> = []) => {
  const settings = { ...defaultConfig, ...config }
  const known = new Map<string, Channel>([[team.id, team], [dm.id, dm]])
  const states = new Map<string, ChannelState>()
  const view: SessionView = {
    recipient,
    bindings,
    memory: new IdRing(100).scope("g_1"),
    admission: new WakeAdmission(settings, "a1"),
    loopGuard: new AgentLoopGuard(),
    refusalInfo: new OncePer(3_600_000),
    loopWarning: new OncePer(60_000),
    agentUsers: new Set(agentUsers),
    pending: new Set(),
    channel: (id) => known.get(id),
    joined: (channel) => void known.set(channel.id, channel),
    left: (id) => void known.delete(id),
    stateOf: (channel) => {
      let state = states.get(channel.id)
      if (!state) states.set(channel.id, state = new ChannelState("a1", "g_1", channel, Cursor.Beginning(), settings))
      return state
    }
  }
  return { view, known, states }
}

const linesOf = (batch: Batch): Array<Inbound> => batch.lines.map((line) => JSON.parse(line).params)
const drops = (batch: Batch) => Object.fromEntries(batch.dropped)

describe("decideEvents", () => {
  it("delivers what wakes and drops the rest with its reason, in socket order", () => {
    const { view } = world()
    const events = [
      created(message(team, { content: "chatter" })),
      created(message(team, { content: "wake", wakeup: true })),
      created(message(dm, { content: "direct" })),
      created(message(team, { content: "mine", wakeup: true, author_id: "u_agent" })),
      { name: "message.created", payload: { id: 1 } }
    ]
    const batch = new Batch("socket", false, 0)
    expect(decideEvents(view, events, 0, batch)).toBe(events.length)
    expect(linesOf(batch).map((i) => i.message)).toEqual(["wake", "direct"])
    expect(drops(batch)).toEqual({ gated: 1, self: 1, malformed: 1 })
    expect(batch.received).toBe(4)
    expect(batch.delivered).toBe(2)
    expect(batch.problems).toHaveLength(1)
    expect(batch.lines.every((line) => line.endsWith("\n") && !line.slice(0, -1).includes("\n"))).toBe(true)
  })

  it("moves each channel's cursor with every message handled, waking or not", () => {
    const { view, states } = world()
    const last = message(team, { content: "chatter" })
    decideEvents(view, [created(message(team, { wakeup: true })), created(last)], 0, new Batch("socket", false, 0))
    expect(states.get(team.id)!.cursor).toEqual(Cursor.After({ messageId: last.id }))
  })

  it("delivers the same message once, whether the socket or a catch-up brings it again", () => {
    const { view } = world()
    const m = message(dm)
    const first = new Batch("socket", false, 0)
    decideEvents(view, [created(m), created(m)], 0, first)
    const again = new Batch("catchup", false, 0)
    decideMessage(view, view.stateOf(dm), dm, m, again)
    expect([first.lines.length, drops(first), again.lines.length, drops(again)]).toEqual([1, { duplicate: 1 }, 0, { duplicate: 1 }])
  })

  it("stops at a message of an unknown channel, returning its index, after deciding what came before", () => {
    const { view } = world()
    const events = [created(message(dm)), created(message({ id: "c_new", name: "new", x_type: "dm" })), created(message(dm))]
    const batch = new Batch("socket", false, 0)
    expect(decideEvents(view, events, 0, batch)).toBe(1)
    expect([batch.lines.length, batch.unknownChannel]).toEqual([1, "c_new"])
  })

  it("applies channel.joined and channel.left in order with the messages around them", () => {
    const { view } = world()
    const fresh: Channel = { id: "c_fresh", name: "fresh", x_type: "dm" }
    const batch = new Batch("socket", false, 0)
    const events = [
      { name: "channel.joined", payload: fresh },
      created(message(fresh)),
      { name: "channel.left", payload: { channel_id: "c_fresh" } },
      created(message(fresh))
    ]
    expect(decideEvents(view, events, 0, batch)).toBe(3)
    expect(batch.lines).toHaveLength(1)
  })

  it("drops a waking message no binding routes, and says how to bind it", () => {
    const { view } = world([])
    const batch = new Batch("socket", false, 0)
    decideEvents(view, [created(message(dm)), created(message(dm))], 0, batch)
    expect(drops(batch)).toEqual({ unrouted: 2 })
    expect(batch.problems).toEqual([expect.stringContaining("Add a file under channels/")])
  })

  it("marks a message found late, and leaves the cursor where socket order put it", () => {
    const { view } = world()
    const live = message(dm)
    decideEvents(view, [created(live)], 0, new Batch("socket", false, 0))
    const batch = new Batch("late", false, 0)
    decideMessage(view, view.stateOf(dm), dm, message(dm, { content: "missed" }), batch)
    expect(linesOf(batch)[0]!.fabric.late).toBe(true)
    expect(view.stateOf(dm).cursor).toEqual(Cursor.After({ messageId: live.id }))
  })

  it("records each message's outcome only when spans are exported", () => {
    const { view } = world()
    const traced = new Batch("socket", true, 0)
    const m = message(team)
    decideEvents(view, [created(m)], 0, traced)
    expect(traced.outcomes).toEqual([[m.id, "gated"]])
    expect(new Batch("socket", false, 0).outcomes).toBeUndefined()
  })
})

describe("skipMessage", () => {
  it("handles a message past the catch-up cap without delivering it, and says whether it would have woken", () => {
    const { view } = world()
    const batch = new Batch("catchup", false, 0)
    const waking = message(dm)
    expect(skipMessage(view, view.stateOf(dm), dm, waking, batch)).toBe(true)
    expect(skipMessage(view, view.stateOf(team), team, message(team), batch)).toBe(false)
    expect(skipMessage(view, view.stateOf(dm), dm, waking, batch)).toBe(false)
    expect([batch.lines.length, drops(batch)]).toEqual([0, { catchup_cap: 1, gated: 1, duplicate: 1 }])
    expect(view.stateOf(dm).cursor).toEqual(Cursor.After({ messageId: waking.id }))
  })
})

describe("inboundLine", () => {
  const lineOf = (m: Message, extras?: Extras, channel: Channel = team) =>
    JSON.parse(inboundLine(inboundPrefix(binding, recipient, channel), m, extras))

  it("is one JSON-RPC notification line: the whole fabric block, the session id derived from the channel", () => {
    const m = message(team, {
      wakeup: true,
      reply_to: "m_0",
      attachments: [{ id: "at_1", name: "a.txt", mime: "text/plain", size: 3, url: "http://x/a" }],
      command: { name: "ask", args: "why" }
    })
    const line = inboundLine(inboundPrefix(binding, recipient, team), m)
    expect(line.endsWith("}\n")).toBe(true)
    expect(line.indexOf("\n")).toBe(line.length - 1)
    const parsed = JSON.parse(line)
    expect([parsed.jsonrpc, parsed.method, "id" in parsed]).toEqual(["2.0", Methods.inbound, false])
    expect(parsed.params).toEqual({
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
        command: m.command
      }
    })
    expect(Schema.decodeUnknownSync(Inbound, { onExcessProperty: "error" })(parsed.params)).toEqual(parsed.params)
  })

  it("leaves out empty optional fields", () => {
    const { fabric } = lineOf(message(team, { reply_to: null, attachments: [], command: null })).params
    expect(Object.keys(fabric)).not.toEqual(expect.arrayContaining(["reply_to"]))
    expect("attachments" in fabric || "command" in fabric || "late" in fabric || "history" in fabric).toBe(false)
  })

  it("carries the v1.1 fields: history, a coalesced burst, late, edited", () => {
    const [first, second] = [message(team, { wakeup: true }), message(team, { wakeup: true, content: "second" })]
    const context = [message(team)]
    const { params } = lineOf(second, { merged: mergeBurst([first, second]), history: context, late: true, edited: true })
    expect(params.message).toBe(`${first.content}\n${second.content}`)
    expect(params.fabric).toMatchObject({ message_id: second.id, coalesced_message_ids: [first.id], history: context, late: true, edited: true })
    expect(Schema.decodeUnknownSync(Inbound, { onExcessProperty: "error" })(params)).toEqual(params)
  })

  it("escapes every text as JSON does, whatever it holds", () => {
    const odd = "quote \" backslash \\ newline \n tab \t nul \u0000 emoji 🦊 lone surrogate \ud800 U+2028 \u2028"
    const m = message({ ...team, id: `c_${odd}` }, { content: odd, author_name: odd, reply_to: odd, command: { name: odd, args: odd } })
    const { params } = lineOf(m, undefined, { ...team, id: `c_${odd}`, name: odd })
    expect([params.message, params.fabric.author_name, params.fabric.reply_to, params.fabric.command]).toEqual([odd, odd, odd, { name: odd, args: odd }])
    expect(params.fabric.channel_id).toBe(`c_${odd}`)
  })

  it("follows its channel: a channel listed again with another kind is encoded anew", () => {
    const { states, view } = world()
    decide(view, [created(message(team, { wakeup: true }))])
    states.get(team.id)!.channel = { ...team, x_type: "public" }
    const [line] = linesOf(decide(view, [created(message(team, { wakeup: true }))]))
    expect(line!.fabric.channel_x_type).toBe("public")
  })
})

describe("HandledRun", () => {
  it("answers in history order: handled while the lists agree, not for a message the socket never brought", () => {
    const run = new HandledRun(["m_1", "m_2", "m_4"])
    expect(["m_1", "m_2", "m_3", "m_4", "m_5"].map((id) => run.has(id))).toEqual([true, true, false, true, false])
  })

  it("still answers when the socket brought the messages in another order than the history lists them", () => {
    const run = new HandledRun(["m_2", "m_1", "m_3"])
    expect(["m_1", "m_2", "m_9", "m_3"].map((id) => run.has(id))).toEqual([true, true, false, true])
  })
})

describe("ChannelState", () => {
  it("anchors the continuity range at the first message, then tracks what it handled", () => {
    const state = new ChannelState("a1", "g_1", team, Cursor.Beginning(), defaultConfig)
    state.handle("m_1")
    state.handle("m_2")
    state.handle("m_3")
    expect([state.checkedThrough, state.handled]).toEqual(["m_1", ["m_2", "m_3"]])
    state.verified("m_3")
    expect([state.checkedThrough, state.handled]).toEqual(["m_3", []])
  })

  it("starts the range at a stored cursor", () => {
    expect(new ChannelState("a1", "g_1", team, Cursor.After({ messageId: "m_9" }), defaultConfig).checkedThrough).toBe("m_9")
  })
})

const decide = (view: SessionView, events: ReadonlyArray<SocketEvent>, nowMs = 0, source: "socket" | "catchup" = "socket") => {
  const batch = new Batch(source, false, nowMs)
  decideEvents(view, events, 0, batch)
  return batch
}

describe("fabric.history", () => {
  it("carries what did not wake since the agent's own message, each message once, bounded by history_limit", () => {
    const { view } = world([binding], { history_limit: 2 })
    const first = decide(view, [
      created(message(team, { content: "old" })),
      created(message(team, { content: "mine", author_id: "u_agent" })),
      created(message(team, { content: "a" })),
      created(message(team, { content: "b" })),
      created(message(team, { content: "c" })),
      created(message(team, { content: "wake 1", wakeup: true })),
      created(message(team, { content: "wake 2", wakeup: true }))
    ])
    const [one, two] = linesOf(first)
    expect(one!.fabric.history!.map((m) => m.content)).toEqual(["b", "c"])
    expect(two!.fabric.history).toBeUndefined()
  })

  it("records no message the wake policy refuses", () => {
    const { view } = world([binding], { wake_policy: { ...defaultConfig.wake_policy, group: "allowlist", allow_from: ["u_friend"] } })
    const batch = decide(view, [
      created(message(team, { content: "stranger", author_id: "u_stranger" })),
      created(message(team, { content: "friend chat", author_id: "u_friend" })),
      created(message(team, { content: "friend asks", author_id: "u_friend", wakeup: true }))
    ])
    expect(linesOf(batch).map((i) => [i.message, i.fabric.history?.map((m) => m.content)])).toEqual([["friend asks", ["friend chat"]]])
    expect(drops(batch)).toEqual({ not_allowed: 1, gated: 1 })
  })
})

describe("wake policy and the agent-loop guard", () => {
  it("refuses by channel kind and author, counts by reason, and says once an hour per author which setting admits them", () => {
    const { view } = world([binding], { wake_policy: { ...defaultConfig.wake_policy, dm: "off" } })
    const first = decide(view, [created(message(dm)), created(message(dm))], 0)
    expect([first.lines.length, drops(first)]).toEqual([0, { not_allowed: 2 }])
    expect(first.notes).toEqual([expect.stringContaining(`set wake_policy.dm: "open" in config.json`)])
    expect(decide(view, [created(message(dm))], 60_000).notes).toEqual([])
    expect(decide(view, [created(message(dm))], 3_600_000).notes).toHaveLength(1)
    expect(linesOf(decide(view, [created(message(team, { wakeup: true }))])).length).toBe(1)
  })

  it("lets one agent wake another agent_loop_limit times per rolling 60 s, with one warning per minute", () => {
    const { view } = world([binding], { wake_policy: { ...defaultConfig.wake_policy, agent_loop_limit: 3 } }, ["u_bot"])
    const fromBot = () => created(message(dm, { author_id: "u_bot", author_name: "Bot" }))
    const burst = decide(view, [fromBot(), fromBot(), fromBot(), fromBot(), fromBot()], 1_000)
    expect([burst.lines.length, drops(burst)]).toEqual([3, { agent_loop: 2 }])
    expect(burst.problems).toEqual([expect.stringContaining("raise wake_policy.agent_loop_limit")])
    expect(decide(view, [fromBot()], 30_000).problems).toEqual([])
    expect(decide(view, [fromBot()], 61_001).lines).toHaveLength(1)
    // author_kind says so on a v1.1 node, for users the plugin does not run.
    const { view: other } = world([binding], { wake_policy: { ...defaultConfig.wake_policy, agent_loop_limit: 0 } })
    expect(drops(decide(other, [created(message(dm, { author_kind: "agent" }))]))).toEqual({ agent_loop: 1 })
  })
})

describe("coalescing", () => {
  const burstWorld = () => world([binding], { coalesce_ms: 1_000, coalesce_max_messages: 3 })

  it("merges one author's quick messages once the author pauses, every id carried once", () => {
    const { view } = burstWorld()
    const m1 = message(dm, { content: "hey" })
    const m2 = message(dm, { content: "quick q", attachments: [{ id: "at", name: "a", mime: "text/plain", size: 1, url: "u" }] })
    expect(decide(view, [created(m1)], 0).lines).toEqual([])
    expect(decide(view, [created(m2)], 500).lines).toEqual([])
    expect(nextDue(view)).toBe(1_500)
    const released = new Batch("socket", false, 1_500)
    releaseDue(view, released)
    const [one] = linesOf(released)
    expect([one!.message, one!.fabric.message_id, one!.fabric.coalesced_message_ids, one!.fabric.attachments?.length]).toEqual([
      "hey\nquick q",
      m2.id,
      [m1.id],
      1
    ])
    expect([released.delivered, view.pending.size]).toEqual([2, 0])
  })

  it("releases at coalesce_max_messages and never merges a command", () => {
    const { view } = burstWorld()
    const full = decide(view, [created(message(dm)), created(message(dm)), created(message(dm)), created(message(dm))], 0)
    expect(linesOf(full).map((i) => i.fabric.coalesced_message_ids?.length)).toEqual([2])
    const command = message(dm, { command: { name: "ask", args: "x" } })
    const withCommand = decide(view, [created(command)], 10)
    expect(linesOf(withCommand).map((i) => i.fabric.message_id)).toEqual([expect.any(String), command.id])
  })

  it("coalesces a caught-up run by created_at, and releases pending bursts first", () => {
    const { view } = burstWorld()
    decide(view, [created(message(dm, { content: "pending" }))], 0)
    const state = view.stateOf(dm)
    const batch = new Batch("catchup", false, 10)
    releaseAll(state, batch)
    const at = (ms: number) => new Date(Date.UTC(2025, 0, 1) + ms).toISOString()
    for (const [ms, content] of [[0, "a"], [300, "b"], [5_000, "c"]] as const) {
      decideMessage(view, state, dm, message(dm, { content, created_at: at(ms) }), batch)
    }
    flushCaughtUp(state, batch)
    expect(linesOf(batch).map((i) => i.message)).toEqual(["pending", "a\nb", "c"])
  })
})

describe("edits", () => {
  it("delivers once, marked edited, an edit that makes a recorded message wake; nothing else about edits wakes", () => {
    const { view } = world()
    const chatter = message(team, { content: "thinking aloud" })
    decide(view, [created(chatter)])
    const updated = (m: Message) => ({ name: "message.updated", payload: m })
    const edit = decide(view, [updated({ ...chatter, content: "@agent thoughts?", wakeup: true, edited_at: "2025-01-01T00:01:00Z" })])
    expect(linesOf(edit).map((i) => [i.message, i.fabric.edited])).toEqual([["@agent thoughts?", true]])
    expect(view.stateOf(team).history.size).toBe(0)
    expect(decide(view, [updated({ ...chatter, content: "again", wakeup: true })]).lines).toEqual([])
    const delivered = message(dm)
    decide(view, [created(delivered)])
    expect(decide(view, [updated({ ...delivered, content: "changed" })]).lines).toEqual([])
    expect(decide(view, [updated(message(team, { content: "still no mention" }))]).lines).toEqual([])
  })
})
