/**
 * CatchUp's paging, cap, watermark and concurrency rules against a scripted, in-memory guild
 * history that answers `messages?after=&before=&limit=` as fabric-api.md says.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, Option } from "effect"
import { FabricApi, type GuildRef, type HistoryQuery } from "../../src/fabric/FabricApi.js"
import type { Channel, Message, MessagePage } from "../../src/fabric/FabricContract.js"
import { FabricError } from "../../src/fabric/FabricError.js"
import { CatchUp, walkBack } from "../../src/inbound/CatchUp.js"
import { LastSeen } from "../../src/inbound/LastSeen.js"
import { ActiveProfile, defaultConfig, type PluginConfig } from "../../src/profile/ProfileSchema.js"
import { FiberRegistry } from "../../src/telemetry/FiberRegistry.js"

const AGENT = "agent-a"
const GUILD = "g_1"

const channel = (id: string): Channel => ({ id, name: `chan-${id}`, x_type: "group" })

const message = (channelId: string, n: number): Message => ({
  id: `${channelId}-m${n}`,
  channel_id: channelId,
  author_id: "u_human",
  author_name: "Human",
  content: `hello ${n}`,
  wakeup: true,
  // Before the TestClock's start (the epoch): history that was there when the plugin started.
  created_at: new Date(Date.UTC(1969, 0, 1) + n * 1000).toISOString()
})

const historyOf = (channelId: string, count: number) => Array.from({ length: count }, (_, i) => message(channelId, i + 1))

/** The paging rules of `GET /api/channels/{id}/messages`, over an array kept oldest first. */
const page = (all: ReadonlyArray<Message>, query: HistoryQuery): MessagePage => {
  const limit = query.limit ?? 50
  const indexOf = (id: string) => all.findIndex((m) => m.id === id)
  if (query.after !== undefined) {
    const from = indexOf(query.after) + 1
    return { messages: all.slice(from, from + limit), has_more: from + limit < all.length }
  }
  const end = query.before !== undefined ? indexOf(query.before) : all.length
  const start = Math.max(0, end - limit)
  return { messages: all.slice(start, end), has_more: start > 0 }
}

interface Script {
  readonly histories: Map<string, Array<Message>>
  readonly forbidden: Set<string>
  readonly calls: Array<{ readonly channelId: string; readonly query: HistoryQuery }>
  inFlight: number
  maxInFlight: number
}

const script = (histories: Record<string, Array<Message>>, forbidden: Iterable<string> = []): Script => ({
  histories: new Map(Object.entries(histories)),
  forbidden: new Set(forbidden),
  calls: [],
  inFlight: 0,
  maxInFlight: 0
})

/** A FabricApi that serves the script's history and dies on anything else. */
const scriptedFabric = (s: Script) => {
  const listMessages = (_g: GuildRef, channelId: string, query: HistoryQuery) =>
    Effect.gen(function*() {
      s.calls.push({ channelId, query })
      s.inFlight += 1
      s.maxInFlight = Math.max(s.maxInFlight, s.inFlight)
      // Let the other catch-up fibers start their calls, so overlap is observable.
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
      s.inFlight -= 1
      if (s.forbidden.has(channelId)) {
        return yield* new FabricError({
          route: "GET /api/channels/{id}/messages",
          reason: "forbidden",
          status: 403,
          code: "not_a_member",
          message: `Fabric refused to read channel ${channelId}: the agent is not a member (403).`
        })
      }
      return page(s.histories.get(channelId) ?? [], query)
    })
  const impl = { listMessages }
  return Layer.succeed(
    FabricApi,
    new Proxy(impl, {
      get: (target, key) =>
        key in target ? target[key as keyof typeof target] : () => Effect.dieMessage(`FabricApi.${String(key)} is not scripted`)
    }) as unknown as FabricApi
  )
}

const profileLayer = (config: Partial<PluginConfig>) =>
  Layer.succeed(ActiveProfile, {
    root: "profile",
    config: { ...defaultConfig, ...config },
    identities: new Map(),
    bindings: []
  })

const warnings: Array<string> = []
const capturingLogger = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
)

const catchUpLayer = (s: Script, config: Partial<PluginConfig> = {}) =>
  CatchUp.Default.pipe(
    Layer.provideMerge(LastSeen.Default),
    Layer.provide([scriptedFabric(s), profileLayer(config), FiberRegistry.Default]),
    Layer.merge(capturingLogger)
  )

/** Runs one catch-up and returns what it delivered, per channel, in delivery order. */
const runCatchUp = (channels: ReadonlyArray<Channel>, firstConnect: boolean, agentId = AGENT) =>
  Effect.gen(function*() {
    const delivered = new Map<string, Array<string>>()
    const catchUp = yield* CatchUp
    yield* catchUp.run({
      agentId,
      guildNodeId: GUILD,
      channels,
      firstConnect,
      deliver: (m, c) =>
        Effect.sync(() => {
          expect(m.channel_id).toBe(c.id)
          delivered.set(c.id, [...(delivered.get(c.id) ?? []), m.id])
        })
    })
    return delivered
  })

const ids = (channelId: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${channelId}-m${from + i}`)

describe("CatchUp", () => {
  it.effect("fills the gap after a drop in posting order and moves the watermark", () => {
    const s = script({ c1: historyOf("c1", 10) })
    return Effect.gen(function*() {
      const lastSeen = yield* LastSeen
      yield* lastSeen.record(AGENT, "c1", "c1-m4")
      const delivered = yield* runCatchUp([channel("c1")], false)
      expect(delivered.get("c1")).toEqual(ids("c1", 5, 10))
      expect(yield* lastSeen.get(AGENT, "c1")).toEqual(Option.some("c1-m10"))
      expect(s.calls).toHaveLength(1)
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("delivers nothing when nothing was missed", () => {
    const s = script({ c1: historyOf("c1", 3) })
    return Effect.gen(function*() {
      yield* (yield* LastSeen).record(AGENT, "c1", "c1-m3")
      const delivered = yield* runCatchUp([channel("c1")], false)
      expect(delivered.get("c1")).toBeUndefined()
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("pages back over several pages to find the watermark", () => {
    const s = script({ c1: historyOf("c1", 450) })
    return Effect.gen(function*() {
      yield* (yield* LastSeen).record(AGENT, "c1", "c1-m120")
      const delivered = yield* runCatchUp([channel("c1")], false)
      expect(delivered.get("c1")).toEqual(ids("c1", 121, 450))
      expect(s.calls.map((c) => c.query)).toEqual([
        { limit: 100 },
        { before: "c1-m351", limit: 100 },
        { before: "c1-m251", limit: 100 },
        { before: "c1-m151", limit: 100 }
      ])
      expect(warnings.filter((w) => w.includes("chan-c1"))).toEqual([])
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("a gap larger than the cap delivers the newest N in order and names the channel and skip count", () => {
    warnings.length = 0
    const s = script({ c1: historyOf("c1", 300) })
    return Effect.gen(function*() {
      yield* (yield* LastSeen).record(AGENT, "c1", "c1-m10")
      const delivered = yield* runCatchUp([channel("c1")], false)
      expect(delivered.get("c1")).toEqual(ids("c1", 296, 300))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(`"chan-c1" (c1)`)
      expect(warnings[0]).toContain("skipped 285 older ones")
      expect(warnings[0]).toContain("catchup_max_messages (5)")
    }).pipe(Effect.provide(catchUpLayer(s, { catchup_max_messages: 5 })))
  })

  it.effect("a gap far beyond the cap stops paging and reports a lower bound", () => {
    warnings.length = 0
    const s = script({ c1: historyOf("c1", 2000) })
    return Effect.gen(function*() {
      yield* (yield* LastSeen).record(AGENT, "c1", "c1-m1")
      const delivered = yield* runCatchUp([channel("c1")], false)
      expect(delivered.get("c1")).toEqual(ids("c1", 1991, 2000))
      // The cap fits in one page; two more pages only count what is skipped.
      expect(s.calls).toHaveLength(3)
      expect(warnings[0]).toContain("skipped at least 290 older ones")
    }).pipe(Effect.provide(catchUpLayer(s, { catchup_max_messages: 10 })))
  })

  it.effect("first connect sets the watermark to the newest message without delivering", () => {
    const s = script({ c1: historyOf("c1", 40), empty: [] })
    return Effect.gen(function*() {
      const lastSeen = yield* LastSeen
      const delivered = yield* runCatchUp([channel("c1"), channel("empty")], true)
      expect(delivered.size).toBe(0)
      expect(s.calls.map((c) => c.query)).toEqual([{ limit: 100 }, { limit: 100 }])
      expect(yield* lastSeen.get(AGENT, "c1")).toEqual(Option.some("c1-m40"))
      expect(yield* lastSeen.get(AGENT, "empty")).toEqual(Option.none())

      // What is posted afterwards and missed during a drop is caught up on the next connect;
      // in a channel that was empty at start, everything is new.
      s.histories.get("c1")!.push(message("c1", 41), message("c1", 42))
      s.histories.get("empty")!.push(message("empty", 1))
      const afterDrop = yield* runCatchUp([channel("c1"), channel("empty")], false)
      expect(afterDrop.get("c1")).toEqual(ids("c1", 41, 42))
      expect(afterDrop.get("empty")).toEqual(ids("empty", 1, 1))
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("first connect delivers what was posted after the plugin started, in order", () => {
    const fresh = (n: number): Message => ({ ...message("c1", n), created_at: new Date(n * 1000).toISOString() })
    const s = script({ c1: [...historyOf("c1", 10), fresh(11), fresh(12)] })
    return Effect.gen(function*() {
      const lastSeen = yield* LastSeen
      const delivered = yield* runCatchUp([channel("c1")], true)
      expect(delivered.get("c1")).toEqual(ids("c1", 11, 12))
      expect(yield* lastSeen.get(AGENT, "c1")).toEqual(Option.some("c1-m12"))
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("a first-connect watermark that could not be read is set on the next connect, not replayed", () => {
    const s = script({ c1: historyOf("c1", 20) }, ["c1"])
    return Effect.gen(function*() {
      const lastSeen = yield* LastSeen
      yield* runCatchUp([channel("c1")], true)
      expect(yield* lastSeen.get(AGENT, "c1")).toEqual(Option.none())
      s.forbidden.clear()
      const next = yield* runCatchUp([channel("c1")], false)
      expect(next.size).toBe(0)
      expect(yield* lastSeen.get(AGENT, "c1")).toEqual(Option.some("c1-m20"))
      s.histories.get("c1")!.push(message("c1", 21))
      const afterDrop = yield* runCatchUp([channel("c1")], false)
      expect(afterDrop.get("c1")).toEqual(ids("c1", 21, 21))
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("forgetting a channel makes it new again: it is replayed from its beginning", () => {
    const s = script({ c1: historyOf("c1", 4) })
    return Effect.gen(function*() {
      const lastSeen = yield* LastSeen
      yield* runCatchUp([channel("c1")], true)
      yield* lastSeen.forget(AGENT, "c1")
      expect(yield* lastSeen.size).toBe(0)
      const rejoined = yield* runCatchUp([channel("c1")], false)
      expect(rejoined.get("c1")).toEqual(ids("c1", 1, 4))
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("replay_on_start replays history on first connect, bounded by the cap", () => {
    const s = script({ c1: historyOf("c1", 30) })
    return Effect.gen(function*() {
      const delivered = yield* runCatchUp([channel("c1")], true)
      expect(delivered.get("c1")).toEqual(ids("c1", 11, 30))
    }).pipe(Effect.provide(catchUpLayer(s, { replay_on_start: true, catchup_max_messages: 20 })))
  })

  it.effect("a channel found by re-sync is replayed from its beginning", () => {
    const s = script({ known: historyOf("known", 5), dm: historyOf("dm", 7) })
    return Effect.gen(function*() {
      yield* runCatchUp([channel("known")], true)
      const delivered = yield* runCatchUp([channel("dm")], false)
      expect(delivered.get("dm")).toEqual(ids("dm", 1, 7))
      expect(delivered.get("known")).toBeUndefined()
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("a channel that cannot be read is logged with the reason, asked once, and the others still catch up", () => {
    warnings.length = 0
    const s = script({ ok: historyOf("ok", 3), gone: historyOf("gone", 3) }, ["gone"])
    return Effect.gen(function*() {
      const delivered = yield* runCatchUp([channel("gone"), channel("ok")], false)
      expect(delivered.get("ok")).toEqual(ids("ok", 1, 3))
      expect(s.calls.filter((c) => c.channelId === "gone")).toHaveLength(1)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(`"chan-gone" (gone) gave up`)
      expect(warnings[0]).toContain("not a member (403)")
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("never runs more history calls on a guild than catchup_concurrency, across agents", () => {
    const histories = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`c${i}`, historyOf(`c${i}`, 250)]))
    const s = script(histories)
    const channels = Object.keys(histories).map(channel)
    return Effect.gen(function*() {
      const [a, b] = yield* Effect.all([runCatchUp(channels, false, "agent-a"), runCatchUp(channels, false, "agent-b")], {
        concurrency: "unbounded"
      })
      expect(s.maxInFlight).toBe(3)
      expect(s.calls).toHaveLength(2 * 12 * 3)
      for (const c of channels) {
        expect(a.get(c.id)).toEqual(ids(c.id, 1, 250))
        expect(b.get(c.id)).toEqual(ids(c.id, 1, 250))
      }
    }).pipe(Effect.provide(catchUpLayer(s, { catchup_concurrency: 3 })))
  })
})

describe("CatchUp.live", () => {
  /** One live message through `live`; what it handed over, in order. */
  const live = (channelId: string, n: number, wakes = true) =>
    Effect.gen(function*() {
      const handed: Array<string> = []
      yield* (yield* CatchUp).live({
        agentId: AGENT,
        guildNodeId: GUILD,
        channel: channel(channelId),
        message: message(channelId, n),
        wakes,
        deliver: (m) => Effect.sync(() => void handed.push(m.id))
      })
      return handed
    })

  it.effect("delivers what the socket missed before a waking message first, in order", () => {
    const s = script({ c1: historyOf("c1", 9) })
    return Effect.gen(function*() {
      const lastSeen = yield* LastSeen
      yield* lastSeen.record(AGENT, "c1", "c1-m3")
      expect(yield* live("c1", 7)).toEqual(ids("c1", 4, 7))
      expect(yield* lastSeen.get(AGENT, "c1")).toEqual(Option.some("c1-m7"))
      expect(s.calls.map((c) => c.query)).toEqual([{ after: "c1-m3", limit: 100 }])
      // The next one was on that page already: handed over alone, without a call.
      expect(yield* live("c1", 8)).toEqual(ids("c1", 8, 8))
      expect(s.calls).toHaveLength(1)
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("one check covers the page it read: later waking messages, and ones dropped before them, need no call", () => {
    const s = script({ c1: historyOf("c1", 9) })
    return Effect.gen(function*() {
      const lastSeen = yield* LastSeen
      yield* lastSeen.record(AGENT, "c1", "c1-m3")
      expect(yield* live("c1", 5)).toEqual(ids("c1", 4, 5))
      // 6 and 7 never came live: they are handed over before 8, in order.
      expect(yield* live("c1", 8)).toEqual(ids("c1", 6, 8))
      expect(yield* live("c1", 9)).toEqual(ids("c1", 9, 9))
      expect(s.calls).toHaveLength(1)
      expect(yield* lastSeen.get(AGENT, "c1")).toEqual(Option.some("c1-m9"))
      // Past the page: a new check.
      s.histories.get("c1")!.push(message("c1", 10))
      expect(yield* live("c1", 10)).toEqual(ids("c1", 10, 10))
      expect(s.calls).toHaveLength(2)
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("what a check read ahead is dropped once a catch-up moved the watermark", () => {
    const s = script({ c1: historyOf("c1", 9) })
    return Effect.gen(function*() {
      const lastSeen = yield* LastSeen
      yield* lastSeen.record(AGENT, "c1", "c1-m3")
      yield* live("c1", 5)
      yield* lastSeen.record(AGENT, "c1", "c1-m7")
      expect(yield* live("c1", 9)).toEqual(ids("c1", 8, 9))
      expect(s.calls).toHaveLength(2)
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("with live_gap_check off, live messages are handed over at once and move the watermark", () => {
    const s = script({ c1: historyOf("c1", 9) })
    return Effect.gen(function*() {
      const lastSeen = yield* LastSeen
      yield* lastSeen.record(AGENT, "c1", "c1-m3")
      expect(yield* live("c1", 7)).toEqual(ids("c1", 7, 7))
      expect(yield* live("c1", 8, false)).toEqual(ids("c1", 8, 8))
      expect(s.calls).toHaveLength(0)
      expect(yield* lastSeen.get(AGENT, "c1")).toEqual(Option.some("c1-m8"))
    }).pipe(Effect.provide(catchUpLayer(s, { live_gap_check: false })))
  })

  it.effect("a message that does not wake is handed over without a call and does not move the watermark", () => {
    const s = script({ c1: historyOf("c1", 5) })
    return Effect.gen(function*() {
      const lastSeen = yield* LastSeen
      yield* lastSeen.record(AGENT, "c1", "c1-m2")
      expect(yield* live("c1", 5, false)).toEqual(ids("c1", 5, 5))
      expect(s.calls).toHaveLength(0)
      expect(yield* lastSeen.get(AGENT, "c1")).toEqual(Option.some("c1-m2"))
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("a message a catch-up already covered is handed over alone and the watermark stays", () => {
    const s = script({ c1: historyOf("c1", 6) })
    return Effect.gen(function*() {
      const lastSeen = yield* LastSeen
      yield* lastSeen.record(AGENT, "c1", "c1-m6")
      expect(yield* live("c1", 5)).toEqual(ids("c1", 5, 5))
      expect(yield* lastSeen.get(AGENT, "c1")).toEqual(Option.some("c1-m6"))
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("without a watermark the message is handed over and becomes it", () => {
    const s = script({ c1: historyOf("c1", 3) })
    return Effect.gen(function*() {
      expect(yield* live("c1", 3)).toEqual(ids("c1", 3, 3))
      expect(s.calls).toHaveLength(0)
      expect(yield* (yield* LastSeen).get(AGENT, "c1")).toEqual(Option.some("c1-m3"))
    }).pipe(Effect.provide(catchUpLayer(s)))
  })

  it.effect("a gap beyond the cap is not searched further: the message is delivered with a warning", () => {
    warnings.length = 0
    const s = script({ c1: historyOf("c1", 400) })
    return Effect.gen(function*() {
      yield* (yield* LastSeen).record(AGENT, "c1", "c1-m1")
      expect(yield* live("c1", 400)).toEqual(ids("c1", 400, 400))
      expect(warnings[0]).toContain("more than catchup_max_messages (150)")
    }).pipe(Effect.provide(catchUpLayer(s, { catchup_max_messages: 150 })))
  })
})

describe("walkBack", () => {
  const pages = (all: ReadonlyArray<Message>) => (before: string | undefined) =>
    Effect.succeed(page(all, before === undefined ? { limit: 100 } : { before, limit: 100 }))

  it.effect("a watermark no longer in the history delivers the newest cap messages", () =>
    Effect.gen(function*() {
      const missed = yield* walkBack(pages(historyOf("c", 150)), Option.some("vanished"), 20)
      expect(missed.messages.map((m) => m.id)).toEqual(ids("c", 131, 150))
      expect(missed).toMatchObject({ skipped: 130, skippedExact: true, pages: 2, fetched: 150 })
    }))

  it.effect("an empty channel takes one call", () =>
    Effect.gen(function*() {
      const missed = yield* walkBack(pages([]), Option.none(), 20)
      expect(missed).toEqual({ messages: [], skipped: 0, skippedExact: true, pages: 1, fetched: 0 })
    }))
})
