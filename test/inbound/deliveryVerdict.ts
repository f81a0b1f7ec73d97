/**
 * For the long-running inbound suites (chaos, soak): the plugin's inbound side under test, a seeded
 * PRNG for reproducible workloads and chaos, and the verdict comparing what was delivered with
 * what should have been.
 */
import { Effect, Layer, Logger } from "effect"
import type { Inbound } from "../../src/host/HostProtocol.js"
import { CursorStore } from "../../src/inbound/CursorStore.js"
import { InboundLive } from "../../src/main.js"
import type { ActiveProfile, Binding } from "../../src/profile/ProfileSchema.js"
import { FiberRegistry } from "../../src/telemetry/FiberRegistry.js"
import { presenceOff } from "../presence/support.js"
import { fabricLayer } from "./catchupSimLayers.js"
import { recordingHost } from "./fakes.js"

/**
 * The inbound side as main.ts composes it (InboundLive) against the sim the profile names,
 * writing to a recording host, with cursors in memory; warnings and errors are collected
 * instead of printed.
 */
export const inboundUnderTest = (profile: Layer.Layer<ActiveProfile>) =>
  Effect.gen(function*() {
    const host = yield* recordingHost
    const warnings: Array<string> = []
    const base = Layer.mergeAll(FiberRegistry.Default, host.layer).pipe(
      Layer.provideMerge(fabricLayer()),
      Layer.provideMerge(profile)
    )
    const inbound = InboundLive.pipe(Layer.provide(CursorStore.Memory), Layer.provide(presenceOff), Layer.provideMerge(base))
    const quietLogger = Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning" || logLevel._tag === "Error") {
          warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
        }
      })
    )
    return { host, warnings, inbound, quietLogger }
  })

/** One binding per (agent, guild), to that guild's shared group channel (the "square"). */
export const squareBindings = (
  agentIds: ReadonlyArray<string>,
  guildNames: ReadonlyArray<string>,
  guilds: ReadonlyArray<{ readonly node_id: string }>,
  squares: ReadonlyArray<{ readonly id: string }>
): ReadonlyArray<Binding> =>
  agentIds.flatMap((agentId) =>
    guilds.map((guild, g) => ({
      name: `${agentId}-${guildNames[g]}`,
      agentId,
      guildNodeId: guild.node_id,
      channelId: squares[g]!.id,
      file: `channels/${agentId}-${guildNames[g]}.json`
    }))
  )

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export const prng = (seed: number) => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)]!
  }
}

/** A message the workload posted. */
export interface Posted {
  readonly id: string
  readonly channelId: string
  /** Plexum agent ids this message must wake. */
  readonly wakes: ReadonlyArray<string>
  /** Posting order, across all channels. */
  readonly seq: number
}

const keyOf = (agentId: string, messageId: string) => `${agentId}/${messageId}`

/**
 * Compares what was delivered with what should have been, per agent and channel. A message
 * marked `fabric.late` (found by a continuity check after newer ones) is exempt from the order
 * check, as host-protocol.md v1.1 says; every other delivery must follow posting order.
 */
export const verdict = (posted: ReadonlyArray<Posted>, delivered: ReadonlyArray<Inbound>) => {
  const bySeq = new Map(posted.map((p) => [p.id, p]))
  const expected = new Set(posted.flatMap((p) => p.wakes.map((agent) => keyOf(agent, p.id))))
  const seen = new Set<string>()
  const lastSeq = new Map<string, number>()
  let duplicates = 0
  let unexpected = 0
  let outOfOrder = 0
  let late = 0
  for (const inbound of delivered) {
    const key = keyOf(inbound.fabric.agent_id, inbound.fabric.message_id)
    if (seen.has(key)) duplicates += 1
    seen.add(key)
    if (!expected.has(key)) unexpected += 1
    if (inbound.fabric.late === true) {
      late += 1
      continue
    }
    const stream = `${inbound.fabric.agent_id}/${inbound.fabric.channel_id}`
    const seq = bySeq.get(inbound.fabric.message_id)?.seq ?? -1
    if (seq <= (lastSeq.get(stream) ?? -1)) outOfOrder += 1
    lastSeq.set(stream, seq)
  }
  const missingKeys = [...expected].filter((key) => !seen.has(key))
  return { expected: expected.size, duplicates, unexpected, outOfOrder, late, missing: missingKeys.length, missingKeys }
}

/**
 * A predicate for `recordingHost.waitFor`: true once every expected delivery of `posted` was
 * seen. Incremental (each notification is looked at once), since the host's list only grows
 * and a soak delivers thousands.
 */
export const everyDelivery = (posted: ReadonlyArray<Posted>) => {
  const remaining = new Set(posted.flatMap((p) => p.wakes.map((agent) => keyOf(agent, p.id))))
  let looked = 0
  return (all: ReadonlyArray<Inbound>) => {
    for (; looked < all.length; looked++) remaining.delete(keyOf(all[looked]!.fabric.agent_id, all[looked]!.fabric.message_id))
    return remaining.size === 0
  }
}
