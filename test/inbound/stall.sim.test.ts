/**
 * A host that stops reading stdout, under load, against the real sim: the plugin's buffers stay
 * bounded (the stdout outbox holds at most OUTBOX_CAPACITY lines besides the one write in
 * flight, a socket at most SOCKET_BUFFER_EVENTS events; past that the socket is dropped as
 * `overflow`) and, once the host
 * reads again, catch-up brings what was dropped: every message exactly once, in order.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Layer, Schedule, Stream } from "effect"
import { SOCKET_BUFFER_EVENTS } from "../../src/fabric/GuildSocket.js"
import { HostApi, HostTransport, OUTBOX_CAPACITY } from "../../src/host/HostApi.js"
import { Methods } from "../../src/host/HostProtocol.js"
import { CursorStore } from "../../src/inbound/CursorStore.js"
import { Supervisor } from "../../src/inbound/Supervisor.js"
import { ReconnectPolicy } from "../../src/inbound/Timing.js"
import { InboundLive } from "../../src/main.js"
import { ActiveProfile, defaultConfig } from "../../src/profile/ProfileSchema.js"
import { Sim } from "../../src/sim/Sim.js"
import { FiberRegistry } from "../../src/telemetry/FiberRegistry.js"
import { presenceOff } from "../presence/support.js"
import { fabricLayer } from "./catchupSimLayers.js"
import { writtenLines } from "../support/hostWrites.js"

/** How long the host reads nothing after the burst was emitted. */
const STALL = "5 seconds"

/** More than the outbox (and the one write in flight), and the socket's buffer hold together. */
const POSTS = 2 * OUTBOX_CAPACITY + SOCKET_BUFFER_EVENTS + 10_000

describe("a host that stops reading", () => {
  it.scopedLive("keeps the buffers bounded (the socket overflows and is dropped), then delivers everything once, in order", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      const guild = yield* sim.createGuild({ name: "Acme" })
      const agent = yield* sim.createAgent({ display_name: "Scout" })
      const human = yield* sim.createUser({ display_name: "Ada" })
      for (const user of [agent, human]) yield* sim.addMember(guild.node_id, user.id)
      const dm = yield* sim.openDm(guild.node_id, human.id, agent.id)

      // The host: reads nothing until `reading` opens, then records every inbound message's text.
      const reading = yield* Deferred.make<void>()
      const received: Array<string> = []
      const transport = Layer.succeed(HostTransport, {
        input: Stream.never,
        write: (bytes: Uint8Array) =>
          Effect.zipRight(
            Deferred.await(reading),
            Effect.sync(() => {
              for (const line of writtenLines(bytes)) {
                const message = JSON.parse(line)
                if (message.method === Methods.inbound) received.push(message.params.message)
              }
            })
          ),
        // Every line goes through the writer fiber.
        writeNow: () => false,
        diagnostic: () => {}
      })
      const profile = Layer.succeed(ActiveProfile, {
        root: "profile",
        config: { ...defaultConfig, center_api_base: sim.centerApiBase, catchup_max_messages: POSTS },
        identities: new Map([["scout", { agentId: "scout", apiKey: agent.api_key, enabled: true }]]),
        bindings: [{ name: "fabric-scout", agentId: "scout", guildNodeId: guild.node_id, channelId: dm.id, file: "channels/x.json" }]
      })
      const context = yield* Layer.build(
        InboundLive.pipe(
          Layer.provide(CursorStore.Memory),
          Layer.provide(presenceOff),
          Layer.provideMerge(Layer.mergeAll(FiberRegistry.Default, HostApi.Default.pipe(Layer.provide(transport)))),
          Layer.provideMerge(fabricLayer()),
          Layer.provide(profile),
          Layer.provide(Layer.succeed(ReconnectPolicy, Schedule.spaced("50 millis").pipe(Schedule.delays)))
        )
      )
      yield* Context.get(context, Supervisor).start
      yield* Context.get(context, FiberRegistry).snapshot.pipe(
        Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (f) => f.some((x) => x.kind === "socket_session" && x.state === "connected") }),
        Effect.timeout("10 seconds")
      )

      // The node emits every message while the host reads nothing, and the host goes on not
      // reading for a while: the stall itself is the scenario (a host that hangs), not a wait
      // for an event, so it has a duration.
      const stalled = yield* sim.socketStats(guild.node_id)
      yield* sim.postBurst(guild.node_id, dm.id, { author_id: human.id, content: "m", count: POSTS })
      yield* Effect.sleep(STALL)
      yield* Deferred.succeed(reading, void 0)

      yield* Effect.sync(() => received.length).pipe(
        Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (n) => n >= POSTS }),
        Effect.timeout("60 seconds")
      )
      const after = yield* sim.socketStats(guild.node_id)
      // Bounded: the socket could not buffer the burst and was dropped, then reconnected.
      expect(after.connections).toBeGreaterThan(stalled.connections)
      // Nothing lost, nothing twice, in order.
      expect(received.length).toBe(POSTS)
      expect(received).toEqual(Array.from({ length: POSTS }, (_, i) => `m #${i + 1}`))
    }), 90_000)
})
