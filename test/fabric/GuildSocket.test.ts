/**
 * The socket.io wrapper against the real sim: events arrive in a mailbox, every way a connection
 * ends fails it with its reason, and closing the scope closes the socket.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Mailbox, Option, Redacted, Schedule, Stream } from "effect"
import { GuildSocket, type SocketClosed } from "../../src/fabric/GuildSocket.js"
import { Sim } from "../../src/sim/Sim.js"

const world = Effect.gen(function*() {
  const sim = yield* Sim.start()
  const guild = yield* sim.createGuild({ name: "guild" })
  const agent = yield* sim.createAgent({ display_name: "Agent" })
  const human = yield* sim.createUser({ display_name: "Ada" })
  yield* sim.addMember(guild.node_id, agent.id)
  yield* sim.addMember(guild.node_id, human.id)
  const channel = yield* sim.createChannel(guild.node_id, { name: "team", x_type: "group", member_ids: [agent.id, human.id] })
  const token = (yield* sim.issueToken(guild.node_id, agent.id)).token
  return { sim, guild, agent, human, channel, token }
})

/** Waits until the sim counts `connected` open sockets. */
const connectedIs = (sim: Sim, guildId: string, connected: number) =>
  sim.socketStats(guildId).pipe(
    // Spaced: a poll loop without pauses keeps the event loop from finishing the close it waits for.
    Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (stats) => stats.connected === connected }),
    Effect.timeout("5 seconds")
  )

const closedOf = (events: Mailbox.ReadonlyMailbox<unknown, SocketClosed>) => Stream.runDrain(Mailbox.toStream(events)).pipe(Effect.flip, Effect.timeout("5 seconds"))

describe("GuildSocket", () => {
  it.scopedLive("delivers the node's events in order, then closes with the scope", () =>
    Effect.gen(function*() {
      const { sim, guild, human, channel, token } = yield* world
      const sockets = yield* GuildSocket
      yield* Effect.scoped(Effect.gen(function*() {
        const events = yield* sockets.connect(guild.endpoint, token)
        for (let i = 1; i <= 3; i++) yield* sim.postMessage(guild.node_id, channel.id, { author_id: human.id, content: `m${i}` })
        const got = yield* Mailbox.toStream(events).pipe(Stream.take(3), Stream.runCollect, Effect.timeout("5 seconds"))
        expect(Chunk.toArray(got).map((e) => [e.name, (e.payload as { content: string }).content])).toEqual([
          ["message.created", "m1"],
          ["message.created", "m2"],
          ["message.created", "m3"]
        ])
        yield* connectedIs(sim, guild.node_id, 1)
      }))
      yield* connectedIs(sim, guild.node_id, 0)
    }).pipe(Effect.provide(GuildSocket.Default)))

  it.scopedLive("with `only`, buffers the events of those names alone", () =>
    Effect.gen(function*() {
      const { sim, guild, human, channel, token } = yield* world
      const sockets = yield* GuildSocket
      const events = yield* sockets.connect(guild.endpoint, token, new Set(["message.created"]))
      yield* sim.setPresence(guild.node_id, human.id, "idle")
      yield* sim.postMessage(guild.node_id, channel.id, { author_id: human.id, content: "after the presence change" })
      const [first] = yield* Mailbox.toStream(events).pipe(Stream.take(1), Stream.runCollect, Effect.timeout("5 seconds"))
      expect(first?.name).toBe("message.created")
      expect(yield* events.size).toEqual(Option.some(0))
    }).pipe(Effect.provide(GuildSocket.Default)))

  it.scopedLive("a refused token fails the connect as unauthorized, with the node's code", () =>
    Effect.gen(function*() {
      const { guild } = yield* world
      const sockets = yield* GuildSocket
      const error = yield* sockets.connect(guild.endpoint, Redacted.make("not-a-token")).pipe(Effect.scoped, Effect.flip)
      expect(error.reason).toBe("unauthorized")
      expect(error.code).toBe("invalid_token")
      expect(error.message).not.toContain("not-a-token")
    }).pipe(Effect.provide(GuildSocket.Default)))

  it.scopedLive("an expired token is refused as token_expired", () =>
    Effect.gen(function*() {
      const { sim, guild, agent } = yield* world
      const issued = yield* sim.issueToken(guild.node_id, agent.id, -1)
      const error = yield* GuildSocket.pipe(Effect.flatMap((s) => s.connect(guild.endpoint, issued.token)), Effect.scoped, Effect.flip)
      expect([error.reason, error.code]).toEqual(["unauthorized", "token_expired"])
    }).pipe(Effect.provide(GuildSocket.Default)))

  it.scopedLive("a node that is not there fails the connect", () =>
    Effect.gen(function*() {
      const error = yield* GuildSocket.pipe(
        Effect.flatMap((s) => s.connect("http://127.0.0.1:9", Redacted.make("t"))),
        Effect.scoped,
        Effect.flip
      )
      expect(error.reason).toBe("connect_error")
    }).pipe(Effect.provide(GuildSocket.Default)))

  it.scopedLive("a server-side disconnect and a node restart end the stream with their reason", () =>
    Effect.gen(function*() {
      const { sim, guild, token } = yield* world
      const sockets = yield* GuildSocket
      const dropped = yield* Effect.scoped(Effect.gen(function*() {
        const events = yield* sockets.connect(guild.endpoint, token)
        const closed = yield* Effect.fork(closedOf(events))
        yield* sim.dropSockets(guild.node_id)
        return yield* Fiber.join(closed)
      }))
      expect(dropped.reason).toBe("server_disconnect")

      const restarted = yield* Effect.scoped(Effect.gen(function*() {
        const events = yield* sockets.connect(guild.endpoint, token)
        const closed = yield* Effect.fork(closedOf(events))
        yield* sim.restartGuild(guild.node_id)
        return yield* Fiber.join(closed)
      }))
      expect(restarted.reason).toBe("transport")
    }).pipe(Effect.provide(GuildSocket.Default)))
})
