/**
 * What the center and the guild nodes share about HTTP: the listener lifecycle, the error
 * body of fabric-api.md, schema-encoded responses and schema-decoded request bodies.
 */
import { HttpMiddleware, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpApp } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Schema } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type { ErrorBody } from "../fabric/FabricContract.js"
import { RETRY_AFTER_HEADER } from "../fabric/FabricContract.js"
import type { FaultPlan } from "./SimState.js"
import { SimFault } from "./SimState.js"

/** A sim server could not start listening (port taken, bad host). */
export class SimListenError extends Schema.TaggedError<SimListenError>()("SimListenError", {
  message: Schema.String
}) {}

export const SIM_HOST = "127.0.0.1"

/**
 * A node HTTP server serving `app`, listening on `port` (0: ephemeral), closed with its scope.
 * `attach` runs after the app's request listener is installed, so that socket.io, which wraps
 * the existing listeners, sees its own path first.
 */
export const serveHttp = <E, R>(
  app: HttpApp.Default<E, R>,
  port: number,
  attach: (server: Http.Server) => { readonly close: (done: () => void) => void } = plainClose
) =>
  Effect.gen(function*() {
    const server = Http.createServer()
    // The sim's own requests are not the plugin's traces: keep them out of any exporter.
    // Interruptible: the handler's runtime keeps these flags, and a request whose client went
    // away must be interruptible even when the listener is acquired inside an uninterruptible region.
    const handler = yield* NodeHttpServer.makeHandler(app).pipe(
      Effect.locally(HttpMiddleware.currentTracerDisabledWhen, () => true),
      Effect.interruptible
    )
    server.on("request", handler)
    const attached = attach(server)
    return yield* Effect.acquireRelease(listen(server, port), () =>
      Effect.async<void>((resume) => {
        attached.close(() => resume(Effect.void))
        server.closeIdleConnections()
      }))
  })

const plainClose = (server: Http.Server) => ({
  close: (done: () => void) => {
    server.close(() => done())
    server.closeAllConnections()
  }
})

const listen = (server: Http.Server, port: number) =>
  Effect.async<number, SimListenError>((resume) => {
    const onError = (cause: Error) =>
      resume(Effect.fail(new SimListenError({ message: `the sim cannot listen on ${SIM_HOST}:${port}: ${cause.message}` })))
    server.once("error", onError)
    server.listen(port, SIM_HOST, () => {
      server.off("error", onError)
      resume(Effect.succeed((server.address() as AddressInfo).port))
    })
  })

export const endpointOf = (port: number) => `http://${SIM_HOST}:${port}`

const encodeError = Schema.encodeSync(Schema.Struct({
  error: Schema.Struct({ code: Schema.String, message: Schema.String, current: Schema.optional(Schema.Unknown) })
}) satisfies Schema.Schema<ErrorBody>)

export const errorResponse = (fault: SimFault): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(
    encodeError({
      error: fault.current === undefined
        ? { code: fault.code, message: fault.message }
        : { code: fault.code, message: fault.message, current: fault.current }
    }),
    { status: fault.status }
  )

/** The answer of a call that `failNext` told to fail. */
export const plannedFailure = (plan: FaultPlan): HttpServerResponse.HttpServerResponse => {
  const response = errorResponse(
    new SimFault({ status: plan.status, code: plan.code, message: `the sim failed this call on purpose (${plan.status})` })
  )
  return plan.retryAfterSeconds === undefined
    ? response
    : HttpServerResponse.setHeader(response, RETRY_AFTER_HEADER, String(plan.retryAfterSeconds))
}

/** JSON body encoded with the contract schema, so the sim cannot drift from the client. */
export const respond = <A, I>(schema: Schema.Schema<A, I>, status = 200) => (value: A) =>
  HttpServerResponse.schemaJson(schema)(value, { status }).pipe(Effect.orDie)

export const noContent = Effect.succeed(HttpServerResponse.empty({ status: 204 }))

/** The request body decoded with `schema`; a bad body is `400 invalid_body` naming the problem. */
export const body = <A, I>(schema: Schema.Schema<A, I>) =>
  HttpServerRequest.schemaBodyJson(schema).pipe(
    Effect.mapError((error) =>
      new SimFault({
        status: 400,
        code: "invalid_body",
        message: error._tag === "ParseError"
          ? `the request body does not match the contract: ${error.message}`
          : "the request body is not valid JSON"
      })
    )
  )

export const bearerToken = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  const header = request.headers["authorization"]
  return header !== undefined && header.startsWith("Bearer ") ? header.slice(7) : undefined
}
