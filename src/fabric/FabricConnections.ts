/**
 * The HTTP connections to Fabric: one undici Agent for the center and every guild node, with at
 * most `CONNECTIONS_PER_ORIGIN` connections to each, kept alive between calls (undici's default
 * keep-alive: 4 s idle, under Node servers' 5 s).
 *
 * undici's default Agent has no such bound: a request that finds every connection busy opens a
 * new one. A fleet of 1,000 sessions connecting at once (each lists its channels, catches up and
 * sets its presence) held some 2,000 connections open to one node, and left as many in
 * TIME_WAIT. With the bound, requests beyond it wait for a connection that is already open.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { Agent } from "undici"

/** Concurrent requests per origin; more wait for a free connection (within their own timeout). */
export const CONNECTIONS_PER_ORIGIN = 32

const dispatcher = Layer.scoped(
  NodeHttpClient.Dispatcher,
  Effect.acquireRelease(
    Effect.sync(() => new Agent({ connections: CONNECTIONS_PER_ORIGIN })),
    (agent) => Effect.promise(() => agent.destroy())
  )
)

/** The HttpClient every Fabric call goes through. */
export const FabricConnections = NodeHttpClient.layerUndiciWithoutDispatcher.pipe(Layer.provide(dispatcher))
