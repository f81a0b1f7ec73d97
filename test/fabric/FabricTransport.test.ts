/**
 * The transport over real HTTP: a node:http server on loopback that answers, never answers, or
 * breaks off its body, and the readings FabricHttp relies on (status, headers, the body up to
 * its limit, and each kind of failure).
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { FabricTransport, FabricTransportLive, type TransportRequest } from "../../src/fabric/FabricTransport.js"

/** A loopback server answering with `handler`, closed with the test's scope. */
const serve = (handler: (request: IncomingMessage, response: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly base: string; readonly close: () => void }>((resume) => {
      const server = createServer(handler)
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ base: `http://127.0.0.1:${port}`, close: () => server.close() }))
      })
    }),
    (server) => Effect.sync(() => server.close())
  )

const get = (url: string, options: Partial<TransportRequest> = {}): TransportRequest => ({
  method: "GET",
  url,
  headers: { accept: "application/json" },
  body: undefined,
  timeout: Duration.seconds(5),
  readLimit: () => 1024,
  ...options
})

const send = (request: TransportRequest) => Effect.flatMap(FabricTransport, (transport) => transport.send(request))

describe("FabricTransport over HTTP", () => {
  it.scopedLive("sends method, headers and body, and reads status, headers and the whole body", () =>
    Effect.gen(function*() {
      const seen: Array<{ method: string | undefined; auth: string | undefined; body: string }> = []
      const { base } = yield* serve((request, response) => {
        let body = ""
        request.on("data", (chunk) => (body += chunk))
        request.on("end", () => {
          seen.push({ method: request.method, auth: request.headers.authorization, body })
          response.writeHead(201, { "content-type": "application/json", "x-twice": ["a", "b"] })
          response.end(JSON.stringify({ ok: true }))
        })
      })
      const answer = yield* send(get(`${base}/api/x`, { method: "POST", headers: { authorization: "Bearer t" }, body: "{\"a\":1}" }))
      expect(answer.status).toBe(201)
      expect(answer.headers["x-twice"]).toBe("a, b")
      expect(answer.complete).toBe(true)
      expect(JSON.parse(answer.body.toString("utf8"))).toEqual({ ok: true })
      expect(seen).toEqual([{ method: "POST", auth: "Bearer t", body: "{\"a\":1}" }])
    }).pipe(Effect.provide(FabricTransportLive)))

  it.scopedLive("reads no more than the limit, declared length or not, and a limit of 0 reads nothing", () =>
    Effect.gen(function*() {
      const big = "x".repeat(200_000)
      const { base } = yield* serve((request, response) => {
        if (request.url === "/chunked") {
          response.writeHead(200)
          response.write(big.slice(0, 100_000))
          response.end(big.slice(100_000))
        } else {
          response.writeHead(200, { "content-length": String(big.length) })
          response.end(big)
        }
      })
      const limited = yield* send(get(`${base}/chunked`, { readLimit: () => 1000 }))
      expect(limited.complete).toBe(false)
      expect(limited.body.length).toBe(1000)
      const declared = yield* send(get(`${base}/declared`, { readLimit: () => 0 }))
      expect(declared).toMatchObject({ status: 200, complete: false })
      expect(declared.body.length).toBe(0)
      const whole = yield* send(get(`${base}/declared`, { readLimit: () => big.length }))
      expect(whole.complete).toBe(true)
      expect(whole.body.toString("utf8")).toBe(big)
    }).pipe(Effect.provide(FabricTransportLive)))

  it.scopedLive("fails as `timeout` when no answer comes within the request's timeout", () =>
    Effect.gen(function*() {
      const { base } = yield* serve(() => {})
      const failure = yield* Effect.flip(send(get(`${base}/silent`, { timeout: Duration.millis(300) })))
      expect(failure.kind).toBe("timeout")
    }).pipe(Effect.provide(FabricTransportLive)))

  it.scopedLive("fails as `cut_off`, with the status, when the body breaks off", () =>
    Effect.gen(function*() {
      const { base } = yield* serve((_, response) => {
        response.writeHead(200, { "content-length": "1000" })
        // Cut once the status line and the start of the body have left.
        response.write("{\"partial\":", () => response.socket?.destroy())
      })
      const failure = yield* Effect.flip(send(get(`${base}/cut`)))
      expect(failure).toMatchObject({ kind: "cut_off", status: 200 })
    }).pipe(Effect.provide(FabricTransportLive)))

  it.scopedLive("fails as `no_connection` when nothing listens, and `invalid_url` for a URL it cannot use", () =>
    Effect.gen(function*() {
      const { base, close } = yield* serve(() => {})
      close()
      expect((yield* Effect.flip(send(get(`${base}/gone`)))).kind).toBe("no_connection")
      expect((yield* Effect.flip(send(get("not a url")))).kind).toBe("invalid_url")
    }).pipe(Effect.provide(FabricTransportLive)))

  it.scopedLive("an interrupted exchange is aborted: the server sees its connection close", () =>
    Effect.gen(function*() {
      const arrived = yield* Deferred.make<void>()
      const closed = yield* Deferred.make<void>()
      const { base } = yield* serve((request) => {
        request.socket.on("close", () => Deferred.unsafeDone(closed, Exit.void))
        Deferred.unsafeDone(arrived, Exit.void)
      })
      const fiber = yield* Effect.fork(send(get(`${base}/slow`, { timeout: Duration.minutes(5) })))
      yield* Deferred.await(arrived)
      yield* Fiber.interrupt(fiber)
      yield* Deferred.await(closed).pipe(Effect.timeout("5 seconds"))
    }).pipe(Effect.provide(FabricTransportLive)))
})
