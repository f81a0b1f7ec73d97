/**
 * One guild node of the sim: its own HTTP server serving the guild REST API, with a socket.io
 * server attached to the same listener. State lives in `GuildState` and outlives the listener,
 * so `restart` closes every socket and the port, then listens again on the same port.
 *
 * Every socket joins a room named after its user id; an event for a set of users is one
 * `io.to(rooms).emit`, which socket.io serializes once.
 */
import { Clock, Duration, Effect, Either, FiberSet, ScopedRef } from "effect"
import type { Scope } from "effect"
import type { Server as HttpServer } from "node:http"
import type { DefaultEventsMap, ExtendedError, Socket } from "socket.io"
import { Server as IoServer } from "socket.io"
import type { Message } from "../fabric/FabricContract.js"
import { CONNECT_ERROR_UNAUTHORIZED, Events, SOCKET_PATH } from "../fabric/FabricContract.js"
import { makeGuildRoutes, type RoutedNode } from "./GuildRoutes.js"
import { endpointOf, serveHttp } from "./HttpKit.js"
import type { SimListenError } from "./HttpKit.js"
import * as Jwt from "./Jwt.js"
import type { SimCore } from "./SimCore.js"
import type { GuildState, SimFault } from "./SimState.js"

interface SocketData {
  userId: string
  expiresAtMs: number
}
type GuildIo = IoServer<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SocketData>
type GuildSocket = Socket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SocketData>

export interface SocketInfo {
  readonly socket_id: string
  readonly user_id: string
  readonly expires_at: string
}

export interface SocketStats {
  /** Handshakes seen, refused ones included. */
  readonly connect_attempts: number
  /** Handshakes accepted. */
  readonly connections: number
  /** Sockets connected now. */
  readonly connected: number
}

export interface GuildNode extends RoutedNode {
  readonly id: string
  readonly name: string
  readonly port: number
  readonly addMember: (userId: string) => Effect.Effect<void, SimFault>
  readonly editMessage: (channelId: string, messageId: string, content: string) => Effect.Effect<Message, SimFault>
  /** Sends any event with any payload to the user's sockets (malformed-event tests). */
  readonly emitRaw: (userId: string, event: string, payload: unknown) => Effect.Effect<void>
  /** Server-side disconnect of every socket, or of one user's; answers how many. */
  readonly dropSockets: (userId?: string) => Effect.Effect<number>
  readonly restart: Effect.Effect<void, SimListenError>
  readonly sockets: Effect.Effect<ReadonlyArray<SocketInfo>>
  readonly stats: Effect.Effect<SocketStats>
}

/** The live listener; absent while a restart is in progress. */
interface Live {
  io: GuildIo | undefined
}

export const makeGuildNode = (
  core: SimCore,
  guild: GuildState,
  requestedPort: number
): Effect.Effect<GuildNode, SimListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const live: Live = { io: undefined }
    const counters = { connect_attempts: 0, connections: 0 }
    let port = requestedPort

    const emitTo = (userIds: ReadonlyArray<string>, event: string, payload: unknown, now: number) => {
      const io = live.io
      if (io === undefined || userIds.length === 0) return
      const rooms = core.state.deliverable(userIds, now)
      // An empty room list would broadcast to everyone.
      if (rooms.length > 0) io.to(rooms as Array<string>).emit(event, payload)
    }

    const node: GuildNode = {
      id: guild.id,
      name: guild.name,
      guild,
      get port() {
        return port
      },
      get endpoint() {
        return endpointOf(port)
      },
      addMember: (userId) => Effect.asVoid(guild.addMember(userId)),
      createChannel: Effect.fnUntraced(function*(creatorId, body) {
        const now = yield* Clock.currentTimeMillis
        const rec = yield* guild.createChannel(creatorId, body, now)
        const channel = guild.toChannel(rec)
        emitTo(guild.memberList(rec), Events.channelJoined, channel, now)
        return channel
      }),
      openDm: Effect.fnUntraced(function*(userId, peerId) {
        const now = yield* Clock.currentTimeMillis
        const { created, rec } = yield* guild.openDm(userId, peerId, now)
        const channel = guild.toChannel(rec)
        if (created) emitTo(guild.memberList(rec), Events.channelJoined, channel, now)
        return channel
      }),
      join: Effect.fnUntraced(function*(userId, channelId) {
        const now = yield* Clock.currentTimeMillis
        const { added, rec } = yield* guild.join(userId, channelId)
        const channel = guild.toChannel(rec)
        if (added) emitTo([userId], Events.channelJoined, channel, now)
        return channel
      }),
      leave: Effect.fnUntraced(function*(userId, channelId) {
        const now = yield* Clock.currentTimeMillis
        const removed = yield* guild.leave(userId, channelId)
        if (removed) emitTo([userId], Events.channelLeft, { channel_id: channelId }, now)
      }),
      postMessage: Effect.fnUntraced(function*(authorId, channelId, body) {
        const now = yield* Clock.currentTimeMillis
        const { message, rec } = yield* guild.postMessage(authorId, channelId, body, now)
        emitTo(guild.memberList(rec), Events.messageCreated, message, now)
        return message
      }),
      editMessage: Effect.fnUntraced(function*(channelId, messageId, content) {
        const now = yield* Clock.currentTimeMillis
        const { message, rec } = yield* guild.editMessage(channelId, messageId, content, now)
        emitTo(guild.memberList(rec), Events.messageUpdated, message, now)
        return message
      }),
      createSubDiscussion: Effect.fnUntraced(function*(userId, parentId, body) {
        const now = yield* Clock.currentTimeMillis
        const { rec, sub } = yield* guild.createSubDiscussion(userId, parentId, body, now)
        emitTo(guild.memberList(rec), Events.channelJoined, guild.toChannel(rec), now)
        return sub
      }),
      setPresence: (userId, status) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          // fabric-api.md: `presence.updated` is sent when someone's presence changed; a PUT of
          // the status a user already has (every reconnect of an agent) changes nothing.
          if (guild.setPresence(userId, status)) emitTo(Array.from(guild.members), Events.presenceUpdated, { user_id: userId, status }, now)
        }),
      startTyping: (userId, channelId) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.map(guild.memberChannel(userId, channelId), (rec) =>
            emitTo(guild.memberList(rec), Events.typingStarted, { channel_id: channelId, user_id: userId }, now))),
      emitRaw: (userId, event, payload) => Effect.sync(() => live.io?.to(userId).emit(event, payload)),
      dropSockets: (userId) =>
        Effect.sync(() => {
          const io = live.io
          if (io === undefined) return 0
          const count = userId === undefined ? io.of("/").sockets.size : io.of("/").adapter.rooms.get(userId)?.size ?? 0
          if (userId === undefined) io.disconnectSockets(true)
          else io.in(userId).disconnectSockets(true)
          return count
        }),
      restart: Effect.suspend(() => ScopedRef.set(listener, acquireListener())),
      sockets: Effect.sync(() =>
        live.io === undefined ? [] : Array.from(live.io.of("/").sockets.values(), (socket) => ({
          socket_id: socket.id,
          user_id: socket.data.userId,
          expires_at: new Date(socket.data.expiresAtMs).toISOString()
        }))
      ),
      stats: Effect.sync(() => ({ ...counters, connected: live.io?.of("/").sockets.size ?? 0 }))
    }

    const routes = makeGuildRoutes(core, node)

    /** Admits a handshake with a valid token of a guild member, else `connect_error` unauthorized. */
    const authorize = (socket: GuildSocket, next: (err?: ExtendedError) => void) => {
      counters.connect_attempts += 1
      const token: unknown = socket.handshake.auth?.["token"]
      const verified = typeof token === "string"
        ? Jwt.verify(core.secret, token, clock.unsafeCurrentTimeMillis())
        : Either.left<Jwt.TokenFault>("invalid_token")
      const claims = Either.filterOrLeft(
        verified,
        (claims) => claims.guild === guild.id && guild.members.has(claims.sub),
        (): Jwt.TokenFault => "invalid_token"
      )
      if (Either.isLeft(claims)) {
        const error: ExtendedError = Object.assign(new Error(CONNECT_ERROR_UNAUTHORIZED), { data: { code: claims.left } })
        return next(error)
      }
      socket.data.userId = claims.right.sub
      socket.data.expiresAtMs = claims.right.exp * 1000
      next()
    }

    /** Lives as long as the socket; disconnects it server-side when its token expires. */
    const socketLifetime = (socket: GuildSocket) =>
      Effect.raceFirst(
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sleep(Duration.millis(Math.max(0, socket.data.expiresAtMs - now)))).pipe(
            Effect.andThen(Effect.sync(() => socket.disconnect(true)))
          ),
        Effect.async<void>((resume) => {
          if (socket.disconnected) return resume(Effect.void)
          const onDisconnect = () => resume(Effect.void)
          socket.once("disconnect", onDisconnect)
          return Effect.sync(() => socket.off("disconnect", onDisconnect))
        })
      )

    const attachIo = (runSocket: (effect: Effect.Effect<void>) => unknown) => (server: HttpServer) => {
      const io: GuildIo = new IoServer(server, { path: SOCKET_PATH, serveClient: false })
      io.use(authorize)
      io.on("connection", (socket) => {
        counters.connections += 1
        void socket.join(socket.data.userId)
        runSocket(socketLifetime(socket))
      })
      live.io = io
      return {
        close: (done: () => void) => {
          live.io = undefined
          void io.close(() => done())
        }
      }
    }

    const acquireListener = () =>
      Effect.gen(function*() {
        // ScopedRef acquires uninterruptibly and a runtime keeps the flags it was made with:
        // socket fibers must stay interruptible, or closing the node waits for their sleeps.
        const runSocket = yield* Effect.interruptible(FiberSet.makeRuntime<never, void, never>())
        port = yield* serveHttp(routes, port, attachIo(runSocket))
      })

    const listener = yield* ScopedRef.fromAcquire(acquireListener())
    return node
  })
