import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { Inbound } from "../../src/host/HostProtocol.js"

const base = {
  channel_name: "general",
  message: "hey\nquick q",
  session_id: "s_fab_c_1",
  fabric: {
    agent_id: "scout",
    guild_node_id: "g_1",
    channel_id: "c_1",
    channel_x_type: "group",
    message_id: "m_3",
    author_id: "u_alice",
    author_name: "Alice",
    wakeup: true,
    created_at: "2026-01-01T00:00:00Z"
  }
} as const
const decode = Schema.decodeUnknownEither(Inbound)

describe("Inbound (host-protocol v1.1 fields)", () => {
  it("accepts a v1 notification, and every v1.1 field", () => {
    expect(Either.isRight(decode(base))).toBe(true)
    const full = {
      ...base,
      fabric: {
        ...base.fabric,
        command: { name: "deploy", args: "prod", owner_id: "u_scout" },
        history: [{
          id: "m_1",
          channel_id: "c_1",
          author_id: "u_bob",
          author_name: "Bob",
          content: "lunch?",
          wakeup: false,
          created_at: "2026-01-01T00:00:00Z",
          author_kind: "user"
        }],
        coalesced_message_ids: ["m_2"],
        edited: true,
        late: true
      }
    }
    expect(decode(full)).toEqual(Either.right(full))
  })

  it("edited and late are true or absent, never false", () => {
    expect(Either.isLeft(decode({ ...base, fabric: { ...base.fabric, edited: false } }))).toBe(true)
    expect(Either.isLeft(decode({ ...base, fabric: { ...base.fabric, late: false } }))).toBe(true)
  })
})
