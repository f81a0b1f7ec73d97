/**
 * The baseline: plain socket.io-client sockets in one process, logged in the way the plugin
 * logs in (one center login per agent, one socket per guild token), doing nothing but count
 * what arrives. Driven over stdin/stdout (Lines.ts) by bench/main.ts.
 *
 * With `--relay` it counts nothing itself: it writes each message's content to stdout as one
 * line (`{"relay": content}`) as it arrives, and the bench host times it when it reads the
 * line, as it does the plugin's notifications. That is the floor for any plugin that hands
 * messages to its host over a pipe: the raw client plus that second hop.
 *
 *   node dist-bench/bench/rawClient.js [--relay]
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Option } from "effect"
import { io, type Socket } from "socket.io-client"
import { Events, SOCKET_PATH, socketAuth } from "../src/fabric/FabricContract.js"
import { type Collector, makeCollector } from "./Collector.js"
import { type Command, nowNs, printLine, serveCommands } from "./Lines.js"

interface LoginAnswer {
  readonly guild_access_tokens: ReadonlyArray<{ readonly guild_node_id: string; readonly token: string }>
  readonly guilds: ReadonlyArray<{ readonly node_id: string; readonly endpoint: string }>
}

const login = (center: string, apiKey: string) =>
  Effect.tryPromise(async () => {
    const response = await fetch(`${center}/agents/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ api_key: apiKey })
    })
    if (!response.ok) throw new Error(`login failed: ${response.status}`)
    return (await response.json()) as LoginAnswer
  })

const program = Effect.gen(function*() {
  const sockets: Array<Socket> = []
  let collector: Option.Option<Collector> = Option.none()
  const relay = process.argv.includes("--relay")
  const onMessage = relay
    ? (payload: { readonly content: string }) => printLine({ relay: payload.content })
    : (payload: { readonly content: string }) => {
      const received = nowNs()
      if (Option.isSome(collector)) collector.value.onMessage(received, payload.content)
    }

  const open = (endpoint: string, token: string, reconnectAtOnce: boolean) =>
    Effect.async<void, Error>((resume) => {
      const socket = io(endpoint, {
        path: SOCKET_PATH,
        transports: ["websocket"],
        reconnection: false,
        forceNew: true,
        auth: socketAuth(token)
      })
      sockets.push(socket)
      socket.on(Events.messageCreated, onMessage)
      // socket.io-client never reconnects after a server-side disconnect by itself.
      if (reconnectAtOnce) socket.on("disconnect", (reason) => reason === "io server disconnect" && socket.connect())
      socket.once("connect", () => resume(Effect.void))
      socket.once("connect_error", (error) => resume(Effect.fail(error)))
    })

  /** Logs every agent in, then opens one socket per guild token; answers once all are up. */
  const connect = (command: Command) =>
    Effect.gen(function*() {
      const center = String(command["center"])
      const keys = command["api_keys"] as ReadonlyArray<string>
      const reconnectAtOnce = command["reconnect_at_once"] === true
      const start = nowNs()
      yield* Effect.forEach(keys, (key) =>
        Effect.flatMap(login(center, key), (session) =>
          Effect.forEach(session.guild_access_tokens, (access) => {
            const guild = session.guilds.find((g) => g.node_id === access.guild_node_id)!
            return open(guild.endpoint, access.token, reconnectAtOnce)
          }, { concurrency: "unbounded", discard: true })), { concurrency: "unbounded", discard: true })
      return { sockets: sockets.length, ms: Number(nowNs() - start) / 1e6 }
    })

  const collect = (command: Command) =>
    Effect.gen(function*() {
      const made = yield* makeCollector(Number(command["expected"]), String(command["tag"]))
      collector = Option.some(made)
      return yield* made.done(Number(command["timeout_ms"]))
    }).pipe(Effect.ensuring(Effect.sync(() => void (collector = Option.none()))))

  yield* serveCommands((command) => {
    switch (command.cmd) {
      case "connect":
        return connect(command)
      case "collect":
        return collect(command)
      case "connected":
        return Effect.sync(() => sockets.filter((s) => s.connected).length)
      case "close":
        return Effect.sync(() => {
          for (const socket of sockets.splice(0)) socket.disconnect()
        })
      default:
        return Effect.fail(`unknown command ${command.cmd}`)
    }
  })
  for (const socket of sockets) socket.disconnect()
})

NodeRuntime.runMain(program, { disablePrettyLogger: true })
