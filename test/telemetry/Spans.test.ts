import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { currentSpanLink, fabricRestSpan, inboundRootOptions, jsonRpcSpan, SpanNames, toolSpan } from "../../src/telemetry/Spans.js"

describe("Spans", () => {
  it("builds the dynamic span names", () => {
    expect(toolSpan("send")).toBe("tool.send")
    expect(jsonRpcSpan("tools/call")).toBe("jsonrpc tools/call")
    expect(fabricRestSpan("POST /api/channels/{id}/messages")).toBe("fabric.rest POST /api/channels/{id}/messages")
  })

  it.effect("links a message's root span to the session span that received it", () =>
    Effect.gen(function*() {
      expect(yield* currentSpanLink).toEqual(Option.none())
      const [session, message] = yield* Effect.gen(function*() {
        const session = yield* Effect.currentSpan
        const link = yield* currentSpanLink
        const message = yield* Effect.currentSpan.pipe(Effect.withSpan(SpanNames.inboundBatch, inboundRootOptions(link)))
        return [session, message] as const
      }).pipe(Effect.withSpan(SpanNames.socketSession))
      expect(message.links.map((l) => l.span)).toEqual([session])
      expect(Option.isNone(message.parent)).toBe(true)
      expect(message.traceId).not.toBe(session.traceId)
    }))

  it("starts a root span without links when there is no session", () => {
    expect(inboundRootOptions(Option.none())).toMatchObject({ root: true, links: [] })
  })
})
