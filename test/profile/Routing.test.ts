import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { routeInbound, routeOutbound, sessionChannel } from "../../src/profile/Routing.js"
import type { Binding } from "../../src/profile/ProfileSchema.js"

const bound = (name: string, agentId: string, guildNodeId: string, channelId: string): Binding => ({
  name,
  agentId,
  guildNodeId,
  channelId,
  file: `channels/${name}.json`
})

// Deliberately not sorted by name: routing must not depend on the order it is given.
const bindings: ReadonlyArray<Binding> = [
  bound("zz-guild1", "a1", "g_1", "c_general"),
  bound("support", "a1", "g_1", "c_support"),
  bound("design", "a1", "g_1", "c_design"),
  bound("other-agent", "a2", "g_1", "c_dm"),
  bound("elsewhere", "a1", "g_2", "c_x")
]

describe("routeInbound", () => {
  it("the binding of the exact channel wins over the guild's first binding", () => {
    expect(routeInbound(bindings, "a1", "g_1", "c_support")?.name).toBe("support")
    expect(routeInbound(bindings, "a1", "g_1", "c_general")?.name).toBe("zz-guild1")
  })

  it("a DM or sub-discussion reaches the agent through its first binding (by name) in that guild", () => {
    expect(routeInbound(bindings, "a1", "g_1", "c_dm_with_human")?.name).toBe("design")
    expect(routeInbound(bindings, "a1", "g_2", "c_sub")?.name).toBe("elsewhere")
  })

  it("another agent's binding of the same channel does not count", () => {
    // c_dm is bound for a2 only; a1 falls back to its guild binding.
    expect(routeInbound(bindings, "a1", "g_1", "c_dm")?.name).toBe("design")
    expect(routeInbound(bindings, "a2", "g_1", "c_dm")?.name).toBe("other-agent")
  })

  it("nothing matches: an unbound agent, or a guild the agent has no binding in", () => {
    expect(routeInbound(bindings, "a3", "g_1", "c_general")).toBeUndefined()
    expect(routeInbound(bindings, "a2", "g_2", "c_x")).toBeUndefined()
    expect(routeInbound([], "a1", "g_1", "c_general")).toBeUndefined()
  })

  it("two bindings of the same channel: the first by name", () => {
    const twice = [bound("b-second", "a1", "g_1", "c_1"), bound("a-first", "a1", "g_1", "c_1")]
    expect(routeInbound(twice, "a1", "g_1", "c_1")?.name).toBe("a-first")
  })
})

describe("routeOutbound", () => {
  const member = (...channels: ReadonlyArray<string>) => (channelId: string) => channels.includes(channelId)

  it("goes to the session's channel when the agent is a member of it", () => {
    const target = routeOutbound(bindings, "design", "s_fab_c_thread", member("c_thread"))
    expect(target).toEqual(Either.right({ binding: bindings[2], channelId: "c_thread" }))
  })

  it("falls back to the binding's channel when the agent is not a member, or there is no session", () => {
    expect(Either.getOrThrow(routeOutbound(bindings, "design", "s_fab_c_thread", member())).channelId).toBe("c_design")
    expect(Either.getOrThrow(routeOutbound(bindings, "design", undefined, member("c_thread"))).channelId).toBe("c_design")
    expect(Either.getOrThrow(routeOutbound(bindings, "design", "not-a-fabric-session", member("c_thread"))).channelId)
      .toBe("c_design")
  })

  it("asks about membership for the named binding's agent and guild", () => {
    const asked: Array<string> = []
    routeOutbound(bindings, "elsewhere", "s_fab_c_q", (channelId, binding) => {
      asked.push(`${binding.agentId}@${binding.guildNodeId}:${channelId}`)
      return false
    })
    expect(asked).toEqual(["a1@g_2:c_q"])
  })

  it("an unknown channel name is refused, listing the bound names", () => {
    const refused = routeOutbound(bindings, "genral", undefined, member())
    expect(Either.isLeft(refused)).toBe(true)
    if (Either.isLeft(refused)) {
      expect(refused.left.channelName).toBe("genral")
      expect(refused.left.known).toEqual(["design", "elsewhere", "other-agent", "support", "zz-guild1"])
      expect(refused.left.message).toContain(`channel "genral" is not bound`)
    }
    const none = routeOutbound([], "x", undefined, member())
    expect(Either.isLeft(none) && none.left.message).toContain("plexum-fabric-bind")
  })

  it("sessionChannel ignores the binding's own channel: no membership check needed", () => {
    expect(sessionChannel(bindings[2]!, "s_fab_c_design")).toBeUndefined()
    expect(sessionChannel(bindings[2]!, "s_fab_c_other")).toBe("c_other")
    expect(sessionChannel(bindings[2]!, "s_fab_")).toBeUndefined()
  })
})
