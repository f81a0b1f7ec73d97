import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { PluginConfigFile } from "../../src/profile/ProfileSchema.js"
import {
  AGENT_LOOP_WINDOW_MS,
  AgentLoopGuard,
  isAgentAuthor,
  OncePer,
  pairKey,
  WakeAdmission
} from "../../src/inbound/WakeAdmission.js"

const config = (wake_policy: unknown) => Schema.decodeUnknownSync(PluginConfigFile)({ wake_policy })

describe("WakeAdmission", () => {
  it("open admits every author in both kinds of channel (the default)", () => {
    const admission = new WakeAdmission(config({}), "scout")
    for (const xType of ["dm", "group", "public", "private", "sub_discussion"] as const) {
      expect(admission.refusal(xType, "u_anyone")).toBeUndefined()
    }
  })

  it("allowlist admits only allow_from, and names the list the author should join", () => {
    const admission = new WakeAdmission(config({ group: "allowlist", allow_from: ["u_alice"] }), "scout")
    expect(admission.refusal("group", "u_alice")).toBeUndefined()
    expect(admission.refusal("public", "u_bob")).toEqual({ reason: "not_allowed", setting: `wake_policy.allow_from += "u_bob"` })
    // dm stays open
    expect(admission.refusal("dm", "u_bob")).toBeUndefined()
  })

  it("off refuses every author of that kind of channel; DMs and the rest are separate kinds", () => {
    const admission = new WakeAdmission(config({ dm: "off" }), "scout")
    expect(admission.refusal("dm", "u_alice")).toEqual({ reason: "not_allowed", setting: `wake_policy.dm: "open"` })
    expect(admission.refusal("sub_discussion", "u_alice")).toBeUndefined()
    const groupOff = new WakeAdmission(config({ group: "off" }), "scout")
    expect(groupOff.refusal("private", "u_alice")).toEqual({ reason: "not_allowed", setting: `wake_policy.group: "open"` })
    expect(groupOff.refusal("dm", "u_alice")).toBeUndefined()
  })

  it("an agent's entry overrides field by field, and the setting names that entry", () => {
    const cfg = config({
      group: "allowlist",
      allow_from: ["u_alice"],
      agents: { scout: { allow_from: ["u_carol"], dm: "off" }, other: { group: "open" } }
    })
    const scout = new WakeAdmission(cfg, "scout")
    expect(scout.refusal("group", "u_carol")).toBeUndefined()
    expect(scout.refusal("group", "u_alice")).toEqual({
      reason: "not_allowed",
      setting: `wake_policy.agents.scout.allow_from += "u_alice"`
    })
    expect(scout.refusal("dm", "u_carol")).toEqual({ reason: "not_allowed", setting: `wake_policy.agents.scout.dm: "open"` })
    expect(new WakeAdmission(cfg, "other").refusal("group", "u_zed")).toBeUndefined()
    expect(new WakeAdmission(cfg, "third").refusal("group", "u_zed")?.setting).toBe(`wake_policy.allow_from += "u_zed"`)
  })

  it("the loop refusal proposes a higher agent_loop_limit where it is set", () => {
    expect(new WakeAdmission(config({}), "scout").loopRefusal()).toEqual({
      reason: "agent_loop",
      setting: "wake_policy.agent_loop_limit: 40 (now 20)"
    })
    expect(new WakeAdmission(config({ agents: { scout: { agent_loop_limit: 0 } } }), "scout").loopRefusal().setting).toBe(
      "wake_policy.agents.scout.agent_loop_limit: 20"
    )
  })

  it("an author is an agent by author_kind, or as the Fabric user of an agent this plugin runs", () => {
    const ours = new Set(["u_scout"])
    expect(isAgentAuthor({ author_id: "u_x", author_kind: "agent" }, ours)).toBe(true)
    expect(isAgentAuthor({ author_id: "u_scout" }, ours)).toBe(true)
    expect(isAgentAuthor({ author_id: "u_scout", author_kind: "user" }, ours)).toBe(true)
    expect(isAgentAuthor({ author_id: "u_x", author_kind: "user" }, ours)).toBe(false)
    expect(isAgentAuthor({ author_id: "u_x", author_kind: null }, ours)).toBe(false)
  })
})

describe("AgentLoopGuard", () => {
  it("admits at most `limit` wakes in any rolling 60 s per pair", () => {
    const guard = new AgentLoopGuard()
    const t0 = 1_000_000
    for (let i = 0; i < 3; i++) expect(guard.admit("u_bot", "scout", 3, t0 + i * 1000)).toBe(true)
    expect(guard.admit("u_bot", "scout", 3, t0 + 3000)).toBe(false)
    // another pair has its own window
    expect(guard.admit("u_bot", "other", 3, t0 + 3000)).toBe(true)
    expect(guard.admit("u_bot2", "scout", 3, t0 + 3000)).toBe(true)
    // the first wake leaves the window at t0 + 60 s: one slot frees, not more
    expect(guard.admit("u_bot", "scout", 3, t0 + AGENT_LOOP_WINDOW_MS - 1)).toBe(false)
    expect(guard.admit("u_bot", "scout", 3, t0 + AGENT_LOOP_WINDOW_MS)).toBe(true)
    expect(guard.admit("u_bot", "scout", 3, t0 + AGENT_LOOP_WINDOW_MS)).toBe(false)
    expect(guard.admit("u_bot", "scout", 3, t0 + AGENT_LOOP_WINDOW_MS + 1000)).toBe(true)
  })

  it("refused attempts do not count against the window", () => {
    const guard = new AgentLoopGuard()
    expect(guard.admit("a", "b", 1, 0)).toBe(true)
    for (let t = 1000; t < 60_000; t += 1000) expect(guard.admit("a", "b", 1, t)).toBe(false)
    expect(guard.admit("a", "b", 1, 60_000)).toBe(true)
  })

  it("limit 0 never admits", () => {
    const guard = new AgentLoopGuard()
    expect(guard.admit("a", "b", 0, 0)).toBe(false)
    expect(guard.size).toBe(0)
  })

  it("never admits more than `limit` in any 60 s window, whatever the arrival pattern", () => {
    const guard = new AgentLoopGuard()
    const limit = 5
    const admitted: Array<number> = []
    let t = 0
    // a deterministic, irregular pattern of 2000 attempts
    for (let i = 0; i < 2000; i++) {
      t += (i * 7919) % 23 === 0 ? 9000 : (i * 104729) % 1700
      if (guard.admit("a", "b", limit, t)) admitted.push(t)
    }
    expect(admitted.length).toBeGreaterThan(limit)
    for (let i = limit; i < admitted.length; i++) expect(admitted[i]! - admitted[i - limit]!).toBeGreaterThanOrEqual(60_000)
  })

  it("keeps memory bounded: pairs idle for a window are pruned", () => {
    const guard = new AgentLoopGuard()
    for (let i = 0; i < 1000; i++) guard.admit(`u_${i}`, "scout", 20, i)
    expect(guard.size).toBe(1000)
    guard.admit("u_new", "scout", 20, 1000 + AGENT_LOOP_WINDOW_MS)
    expect(guard.size).toBe(1)
  })

  it("a changed limit (profile reload) restarts the pair's window", () => {
    const guard = new AgentLoopGuard()
    expect(guard.admit("a", "b", 1, 0)).toBe(true)
    expect(guard.admit("a", "b", 1, 1)).toBe(false)
    expect(guard.admit("a", "b", 2, 2)).toBe(true)
    expect(guard.admit("a", "b", 2, 3)).toBe(true)
    expect(guard.admit("a", "b", 2, 4)).toBe(false)
  })
})

describe("OncePer", () => {
  it("lets one take per key through per period", () => {
    const once = new OncePer(60_000)
    const key = pairKey("u_bot", "scout")
    expect(once.take(key, 0)).toBe(true)
    expect(once.take(key, 59_999)).toBe(false)
    expect(once.take(pairKey("u_bot", "other"), 10)).toBe(true)
    expect(once.take(key, 60_000)).toBe(true)
    expect(once.take(key, 60_001)).toBe(false)
  })

  it("prunes keys idle for a period", () => {
    const hourly = new OncePer(3_600_000)
    for (let i = 0; i < 500; i++) hourly.take(`u_${i}`, i)
    expect(hourly.size).toBe(500)
    hourly.take("u_late", 3_600_500)
    expect(hourly.size).toBe(1)
  })
})
