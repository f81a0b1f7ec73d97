/**
 * The heartbeat bound: as a plain function, and against a real socket.io server that
 * advertises a heartbeat of 2^30 ms and then never pings.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Mailbox, Queue, Redacted, Stream } from "effect"
import { Server } from "socket.io"
import { SOCKET_PATH } from "../../src/fabric/FabricContract.js"
import { GuildSocket } from "../../src/fabric/GuildSocket.js"
import { boundedHeartbeat, LivenessBound } from "../../src/fabric/Liveness.js"

const HUGE = 2 ** 30

/** A socket.io node with the given heartbeat; the test drives its emits through `say`. */
const node = (heartbeat: { readonly pingInterval: number; readonly pingTimeout: number }) =>
  Effect.gen(function*() {
    const connections = yield* Queue.unbounded<{ emit: (name: string, payload: unknown) => void }>()
    const { endpoint } = yield* Effect.acquireRelease(
      Effect.async<{ io: Server; endpoint: string }>((resume) => {
        const http = Http.createServer()
        const io = new Server(http, { path: SOCKET_PATH, serveClient: false, ...heartbeat })
        io.on("connection", (socket) => Queue.unsafeOffer(connections, socket))
        http.listen(0, "127.0.0.1", () =>
          resume(Effect.succeed({ io, endpoint: `http://127.0.0.1:${(http.address() as AddressInfo).port}` })))
      }),
      ({ io }) => Effect.async<void>((resume) => void io.close(() => resume(Effect.void)))
    )
    return { endpoint, connections }
  })

describe("boundedHeartbeat", () => {
  const bound = Duration.seconds(60)

  it("keeps a heartbeat within the bound as the node sent it (socket.io's defaults)", () => {
    expect(boundedHeartbeat({ pingInterval: 25_000, pingTimeout: 20_000 }, bound)).toEqual({ pingInterval: 25_000, pingTimeout: 20_000 })
    expect(boundedHeartbeat({ pingInterval: 40_000, pingTimeout: 20_000 }, bound)).toEqual({ pingInterval: 40_000, pingTimeout: 20_000 })
  })

  it("brings any larger heartbeat within the bound", () => {
    const cases = [[HUGE, HUGE], [HUGE, 20_000], [25_000, HUGE], [2 ** 53, 2 ** 53], [Infinity, NaN], [-1, 5_000]] as const
    for (const [pingInterval, pingTimeout] of cases) {
      const bounded = boundedHeartbeat({ pingInterval, pingTimeout }, bound)
      expect(bounded.pingInterval + bounded.pingTimeout).toBeLessThanOrEqual(60_000)
      expect(bounded.pingInterval).toBeGreaterThanOrEqual(0)
      expect(bounded.pingTimeout).toBeGreaterThanOrEqual(0)
    }
    // A modest timeout is kept; the interval gives way.
    expect(boundedHeartbeat({ pingInterval: HUGE, pingTimeout: 20_000 }, bound)).toEqual({ pingInterval: 40_000, pingTimeout: 20_000 })
  })
})

describe("a guild socket's liveness", () => {
  it.scopedLive("a node that advertises 2^30 ms and goes silent is detected within the bound, as a ping timeout", () =>
    Effect.gen(function*() {
      const { endpoint, connections } = yield* node({ pingInterval: HUGE, pingTimeout: HUGE })
      const sockets = yield* GuildSocket
      const events = yield* sockets.connect(endpoint, Redacted.make("token"))
      const peer = yield* Queue.take(connections)
      peer.emit("hello", 1)
      expect(Chunk.toArray(yield* Mailbox.toStream(events).pipe(Stream.take(1), Stream.runCollect))).toEqual([{ name: "hello", payload: 1 }])
      // The node never pings: the bound (2 s here, 60 s in production) ends the session.
      const closed = yield* Stream.runDrain(Mailbox.toStream(events)).pipe(Effect.flip, Effect.timeout("15 seconds"))
      expect([closed.reason, closed.code]).toEqual(["transport", "ping timeout"])
    }).pipe(Effect.provide(GuildSocket.Default), Effect.provideService(LivenessBound, Duration.seconds(2))))

  it.scopedLive("a heartbeat of 2^30 + 2^30 ms overflows no timer: the connection stays up and carries events", () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const onWarning = (warning: Error) => warnings.push(warning.name)
      yield* Effect.acquireRelease(Effect.sync(() => process.on("warning", onWarning)), () => Effect.sync(() => process.off("warning", onWarning)))
      const { endpoint, connections } = yield* node({ pingInterval: HUGE, pingTimeout: HUGE })
      const sockets = yield* GuildSocket
      const events = yield* sockets.connect(endpoint, Redacted.make("token"))
      const peer = yield* Queue.take(connections)
      // Round trips through the node: an overflowed timer (1 ms) would have closed the socket.
      const received = yield* Effect.forEach([1, 2, 3, 4, 5], (n) =>
        Effect.sync(() => peer.emit("tick", n)).pipe(
          Effect.zipRight(events.take)
        ))
      expect(received.map((event) => event.payload)).toEqual([1, 2, 3, 4, 5])
      expect(warnings).not.toContain("TimeoutOverflowWarning")
    }).pipe(Effect.provide(GuildSocket.Default)))
})
