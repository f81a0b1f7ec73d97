/**
 * One socket session with its clock under TestClock: the coalescing window is the session's own
 * timer (a fiber of the session's scope puts a wake-up in its mailbox when the first burst is
 * due). The socket is a Mailbox the test fills; Fabric is a double with an empty history.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Mailbox, TestClock } from "effect"
import type { Channel, Message } from "../../src/fabric/FabricContract.js"
import type { SocketClosed, SocketEvent } from "../../src/fabric/GuildSocket.js"
import { CatchUp } from "../../src/inbound/CatchUp.js"
import { ChannelDirectory } from "../../src/inbound/ChannelDirectory.js"
import { ChannelQueue } from "../../src/inbound/ChannelQueue.js"
import { Continuity } from "../../src/inbound/Continuity.js"
import { Cursor } from "../../src/inbound/Cursor.js"
import { CursorStore } from "../../src/inbound/CursorStore.js"
import { Dedup } from "../../src/inbound/Dedup.js"
import { SocketSession } from "../../src/inbound/SocketSession.js"
import { WakePolicies } from "../../src/inbound/WakePolicies.js"
import { presenceOff } from "../presence/support.js"
import { partialFabric, recordingHost, recordingRegistry, testProfile } from "./fakes.js"

const dm: Channel = { id: "c_dm", name: "dm", x_type: "dm" }
let n = 0
const message = (content: string, author = "u_ada"): Message => ({
  id: `m_${++n}`,
  channel_id: dm.id,
  author_id: author,
  author_name: author,
  content,
  wakeup: false,
  created_at: "2025-01-01T00:00:00Z"
})

const setup = Effect.gen(function*() {
  const host = yield* recordingHost
  const fabric = partialFabric({
    listChannels: () => Effect.succeed([dm]),
    listMessages: () => Effect.succeed({ messages: [], has_more: false })
  })
  const layer = SocketSession.Default.pipe(
    Layer.provideMerge(Layer.mergeAll(ChannelDirectory.Default, Continuity.Default, CatchUp.Default, Dedup.Default, WakePolicies.Default)),
    Layer.provideMerge(ChannelQueue.Default),
    Layer.provide(Layer.mergeAll(CursorStore.Memory, presenceOff, host.layer, recordingRegistry().layer, fabric)),
    Layer.provideMerge(testProfile({
      agents: ["a1"],
      config: { coalesce_ms: 1_000, channel_sync_interval_seconds: 3_600 },
      bindings: [{ name: "fabric-a1", agentId: "a1", guildNodeId: "g_1", channelId: dm.id }]
    }))
  )
  const events = yield* Mailbox.make<SocketEvent, SocketClosed>()
  const session = yield* SocketSession.pipe(
    Effect.flatMap((s) =>
      s.run({ ref: { agentId: "a1", guildNodeId: "g_1" }, userId: "u_agent", events, initialCursor: Cursor.Beginning(), onLive: Effect.void })
    ),
    Effect.provide(layer),
    Effect.forkScoped
  )
  const offer = (...messages: ReadonlyArray<Message>) => events.offerAll(messages.map((m) => ({ name: "message.created", payload: m })))
  const send = (...messages: ReadonlyArray<Message>) => offer(...messages).pipe(Effect.zipRight(settle))
  return { host, offer, send, session }
})

/** Lets the session fiber run what it can without the clock moving. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("SocketSession under TestClock", () => {
  it.scoped("holds a burst until its author has been quiet coalesce_ms, then delivers it as one notification", () =>
    Effect.gen(function*() {
      const { host, send } = yield* setup
      yield* settle
      yield* send(message("hey"))
      yield* TestClock.adjust("600 millis")
      yield* send(message("quick q"))
      // The wake-up armed for 1 s fires early, for a burst that grew meanwhile: nothing is due.
      yield* TestClock.adjust("999 millis")
      yield* settle
      expect(yield* host.delivered).toEqual([])
      yield* TestClock.adjust("1 millis")
      yield* settle
      const [one, ...rest] = yield* host.delivered
      expect(rest).toEqual([])
      expect([one!.message, one!.fabric.coalesced_message_ids?.length]).toEqual(["hey\nquick q", 1])
    }))

  it.scoped("releases a burst at the latest 4 × coalesce_ms after its first message, however chatty its author", () =>
    Effect.gen(function*() {
      const { host, send } = yield* setup
      yield* settle
      for (let i = 0; i < 8; i++) {
        yield* send(message(`part ${i}`))
        yield* TestClock.adjust("500 millis")
        yield* settle
      }
      const delivered = yield* host.delivered
      expect(delivered.map((i) => i.message.split("\n").length)).toEqual([8])
      expect(delivered[0]!.message.startsWith("part 0")).toBe(true)
    }))

  it.scoped("a burst that is due goes out before a message taken with its wake-up", () =>
    Effect.gen(function*() {
      const { host, offer, send } = yield* setup
      yield* settle
      yield* send(message("hey"))
      // Due now; another author's command arrives at that moment. Commands are never held.
      yield* TestClock.adjust("1 second")
      yield* offer({ ...message("/ask why", "u_bob"), command: { name: "ask", args: "why" } })
      yield* settle
      expect((yield* host.delivered).map((i) => i.message)).toEqual(["hey", "/ask why"])
    }))

  it.scoped("a stop releases a pending burst at once, without waiting for its window: its cursor is past it", () =>
    Effect.gen(function*() {
      const { host, send, session } = yield* setup
      yield* settle
      yield* send(message("hey"), message("are you there"))
      expect(yield* host.delivered).toEqual([])
      yield* Fiber.interrupt(session)
      yield* settle
      expect((yield* host.delivered).map((i) => i.message)).toEqual(["hey\nare you there"])
    }))
})
