import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import { Message, MessagePage } from "../../src/fabric/FabricContract.js"
import { decodeMessage, decodeMessagePage } from "../../src/fabric/MessageDecoder.js"

const bySchema = Schema.decodeUnknownEither(Message)

/** What a guild node's JSON can carry: the payload as it arrives after JSON.parse. */
const asJson = (u: unknown): unknown => JSON.parse(JSON.stringify(u))

const validMessage = Arbitrary.make(Message)
const anyValue = FastCheck.jsonValue({ maxDepth: 2 })
const fields = [
  "id", "channel_id", "author_id", "author_name", "content", "wakeup", "created_at", "reply_to", "attachments",
  "command", "author_kind", "edited_at"
] as const

/** A valid message with one field replaced by any JSON value, removed, or nested values spoiled. */
const nearlyValid = FastCheck.tuple(validMessage, FastCheck.constantFrom(...fields), FastCheck.option(anyValue)).map(
  ([message, field, value]) => {
    const copy: Record<string, unknown> = { ...asJson(message) as object, extra_field: 1 }
    if (value === null) delete copy[field]
    else copy[field] = value
    return copy
  }
)

const spoiledNested = validMessage.map((message) => {
  const copy = asJson(message) as Record<string, unknown>
  copy.attachments = [{ id: "a", name: "n", mime: "text/plain", size: "12", url: "u" }]
  return copy
})

describe("decodeMessage", () => {
  it("answers exactly what the Schema decoder answers, for any payload", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.oneof(validMessage.map(asJson), nearlyValid, spoiledNested, anyValue), (payload) => {
        const expected = bySchema(payload)
        const actual = decodeMessage(payload)
        if (Either.isLeft(expected)) expect(actual).toBeUndefined()
        else expect(actual).toStrictEqual(expected.right)
      }),
      { numRuns: 2_000 }
    )
  })

  it("keeps the contract's fields only, in the contract's order", () => {
    const decoded = decodeMessage({
      unknown: true,
      created_at: "2026-01-01T00:00:00Z",
      wakeup: true,
      content: "hi",
      author_name: "Ada",
      author_id: "u_1",
      channel_id: "c_1",
      id: "m_1",
      command: { name: "ask", args: "x", owner_id: null, extra: 1 }
    })
    expect(JSON.stringify(decoded)).toBe(
      `{"id":"m_1","channel_id":"c_1","author_id":"u_1","author_name":"Ada","content":"hi","wakeup":true,` +
        `"created_at":"2026-01-01T00:00:00Z","command":{"name":"ask","args":"x","owner_id":null}}`
    )
  })

  it("decodes a history page as the Schema does, a spoiled message spoiling the page", () => {
    const page = FastCheck.record({
      messages: FastCheck.array(FastCheck.oneof(validMessage.map(asJson), validMessage.map(asJson), nearlyValid), { maxLength: 5 }),
      has_more: FastCheck.oneof(FastCheck.boolean(), anyValue)
    })
    const byPageSchema = Schema.decodeUnknownEither(MessagePage)
    FastCheck.assert(
      FastCheck.property(FastCheck.oneof(page, anyValue), (payload) => {
        const expected = byPageSchema(payload)
        const actual = decodeMessagePage(payload)
        if (Either.isLeft(expected)) expect(actual).toBeUndefined()
        else expect(actual).toStrictEqual(expected.right)
      }),
      { numRuns: 500 }
    )
  })
})
