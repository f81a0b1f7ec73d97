/**
 * `send` v1.1: a long message posted as chunks, in order, with reply_to and wakeup on the first
 * only; `max_chunks`; a failure part-way; and the typing loop stopped by the post.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import type * as C from "../../src/fabric/FabricContract.js"
import { Typing } from "../../src/presence/Typing.js"
import { FiberRegistry } from "../../src/telemetry/FiberRegistry.js"
import { call, channel, errorOf, fabricError, fakeFabric, message, okOf, toolsLayer } from "./fixtures.js"

const posting = (failAt?: number) => {
  let n = 0
  return fakeFabric({
    listChannels: () => Effect.succeed([channel("c_general", "general")]),
    startTyping: () => Effect.void,
    postMessage: (_g, channelId, body) => {
      n++
      return n === failAt
        ? Effect.fail(fabricError("unavailable", { status: 503 }))
        : Effect.succeed(message(`m_${n}`, channelId, body.content))
    }
  })
}
const bodies = (fake: ReturnType<typeof fakeFabric>) =>
  fake.callsOf("postMessage").map((c) => c.args[2] as Omit<C.PostMessageBody, "author_id">)

/** Three paragraphs of 3000 characters: three chunks, cut at the blank lines. */
const long = ["a", "b", "c"].map((letter) => letter.repeat(3000)).join("\n\n")

describe("send, chunked", () => {
  it.effect("posts a long message in order; reply_to and wakeup go with the first chunk only; every id is listed", () => {
    const fake = posting()
    return Effect.gen(function*() {
      const text = okOf(yield* call("send", { channel_name: "general", message: long, reply_to: "m_0", wakeup: true }))
      expect(text).toBe("sent 3 messages m_1, m_2, m_3 to #general (c_general)")
      const sent = bodies(fake)
      expect(sent.map((b) => b.content)).toEqual(["a".repeat(3000), "b".repeat(3000), "c".repeat(3000)])
      expect(sent[0]).toMatchObject({ reply_to: "m_0", wakeup: true })
      expect(sent.slice(1).map((b) => [b.reply_to, b.wakeup])).toEqual([[undefined, undefined], [undefined, undefined]])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("over max_chunks: an error naming the setting, and nothing posted", () => {
    const fake = posting()
    return Effect.gen(function*() {
      const line = errorOf(yield* call("send", { channel_name: "general", message: long }))
      expect(line).toContain("3 messages of at most 4000")
      expect(line).toContain("max_chunks in the plugin config allows 2")
      expect(line).toContain("Nothing was posted")
      expect(fake.callsOf("postMessage")).toEqual([])
    }).pipe(Effect.provide(toolsLayer(fake.layer, undefined, { max_chunks: 2 })))
  })

  it.effect("a failure part-way says which parts were posted", () => {
    const fake = posting(2)
    return Effect.gen(function*() {
      const line = errorOf(yield* call("send", { channel_name: "general", message: long }))
      expect(line).toMatch(/^posted m_1 \(1 of 3 parts\), then part 2 failed: guild g_acme cannot be reached/)
      expect(fake.callsOf("postMessage")).toHaveLength(2)
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.effect("send_file: a long caption continues in further messages; the file goes with the first", () => {
    let n = 0
    const upload = fakeFabric({
      listChannels: () => Effect.succeed([channel("c_general", "general")]),
      uploadAttachment: (_g, name, mime, bytes) =>
        Effect.succeed({ id: "a_1", name, mime, size: bytes.byteLength, url: "http://127.0.0.1:1/api/attachments/a_1" }),
      postMessage: (_g, channelId, body) => Effect.succeed(message(`m_${++n}`, channelId, body.content))
    })
    return Effect.gen(function*() {
      const caption = "x".repeat(3000) + "\n" + "y".repeat(3000)
      const text = okOf(yield* call("send_file", { channel_name: "general", data_base64: "aGk=", file_name: "hi.txt", message: caption }))
      expect(text).toMatch(/^sent 2 messages .* with hi\.txt \(2 bytes, a_1\)/)
      const sent = bodies(upload)
      expect(sent.map((b) => [b.content, b.attachment_ids])).toEqual([["x".repeat(3000), ["a_1"]], ["y".repeat(3000), undefined]])
    }).pipe(Effect.provide(toolsLayer(upload.layer)))
  })

  it.effect("a post stops the agent's typing loop in that channel", () => {
    const fake = posting()
    return Effect.gen(function*() {
      const typing = yield* Typing
      yield* typing.notified("alice", "g_acme", "c_general")
      yield* TestClock.adjust(0)
      const typingFibers = Effect.map(Effect.flatMap(FiberRegistry, (r) => r.snapshot), (all) => all.filter((f) => f.kind === "typing"))
      expect(yield* typingFibers).toHaveLength(1)
      okOf(yield* call("send", { channel_name: "general", message: "done" }))
      expect(yield* typingFibers).toHaveLength(0)
      yield* TestClock.adjust("30 seconds")
      expect(fake.callsOf("startTyping")).toHaveLength(1)
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })
})
