import { describe, expect, it } from "@effect/vitest"
import { decodeEvent, Malformed, MAX_CONTENT_BYTES } from "../../src/inbound/InboundEvent.js"

const message = {
  id: "m_1",
  channel_id: "c_1",
  author_id: "u_1",
  author_name: "Ada",
  content: "hello",
  wakeup: false,
  created_at: "2025-01-01T00:00:00Z",
  reply_to: null
}

const problemOf = (name: string, payload: unknown) => {
  const decoded = decodeEvent(name, payload)
  if (!(decoded instanceof Malformed)) throw new Error(`expected ${name} to be rejected`)
  return decoded.problem
}

describe("decodeEvent", () => {
  it("decodes every event of the contract, ignoring unknown fields", () => {
    expect(decodeEvent("message.created", { ...message, extra: 1 })).toEqual({ _tag: "MessageCreated", message: { ...message } })
    expect(decodeEvent("message.updated", message)._tag).toBe("MessageUpdated")
    expect(decodeEvent("channel.joined", { id: "c_2", name: "dm", x_type: "dm" })).toEqual(
      { _tag: "ChannelJoined", channel: { id: "c_2", name: "dm", x_type: "dm" } }
    )
    expect(decodeEvent("channel.left", { channel_id: "c_2" })).toEqual({ _tag: "ChannelLeft", channelId: "c_2" })
  })

  it("rejects a payload that is not an object", () => {
    for (const payload of [null, "text", 42, [message], undefined]) {
      expect(problemOf("message.created", payload)).toBe("the payload is not a JSON object")
    }
  })

  it("names the missing or wrongly typed field", () => {
    const { author_id: _, ...withoutAuthor } = message
    expect(problemOf("message.created", withoutAuthor)).toContain("author_id")
    expect(problemOf("message.created", { ...message, wakeup: "yes" })).toContain("wakeup")
    expect(problemOf("channel.joined", { id: "c_2", name: "x", x_type: "voice" })).toContain("x_type")
  })

  it("rejects content over 1 MB, counted in UTF-8 bytes", () => {
    expect(decodeEvent("message.created", { ...message, content: "a".repeat(MAX_CONTENT_BYTES) })._tag).toBe("MessageCreated")
    expect(problemOf("message.created", { ...message, content: "a".repeat(MAX_CONTENT_BYTES + 1) })).toContain("content over")
    // 350k three-byte characters: under the limit in UTF-16 units, over it in bytes.
    expect(problemOf("message.created", { ...message, content: "€".repeat(350_000) })).toContain("m_1")
  })

  it("rejects event names outside the contract", () => {
    expect(problemOf("message.deleted", message)).toBe("not an event of the Fabric contract")
  })

  it("keeps the problem short and free of the content", () => {
    const problem = problemOf("message.created", { ...message, content: { secret: "x".repeat(10_000) } })
    expect(problem.length).toBeLessThanOrEqual(301)
  })
})
