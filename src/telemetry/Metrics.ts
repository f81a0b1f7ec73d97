/**
 * Every metric the plugin records, in one place (owned by the telemetry work; others import).
 * Names follow OpenTelemetry conventions; labels are low-cardinality (reason, status, kind,
 * route template), never ids or text.
 */
import { Metric } from "effect"

export const messagesReceived = Metric.counter("plexum_fabric.inbound.received", {
  description: "Fabric message events received on guild sockets and from catch-up",
  incremental: true
})
export const messagesDelivered = Metric.counter("plexum_fabric.inbound.delivered", {
  description: "Inbound notifications written to the host",
  incremental: true
})
/** Tag with `reason`: gated | duplicate | self | malformed | unrouted. */
export const messagesDropped = Metric.counter("plexum_fabric.inbound.dropped", {
  description: "Inbound messages not delivered, by reason",
  incremental: true
})
export const reconnects = Metric.counter("plexum_fabric.socket.reconnects", {
  description: "Guild socket reconnect attempts",
  incremental: true
})
export const logins = Metric.counter("plexum_fabric.logins", {
  description: "Agent logins to the Fabric center",
  incremental: true
})
/** Tag with `route` (template) and `status`. */
export const restCalls = Metric.counter("plexum_fabric.rest.calls", {
  description: "Fabric REST calls by route template and status",
  incremental: true
})
export const queueDepth = Metric.gauge("plexum_fabric.queue.depth", {
  description: "Messages waiting in per-channel queues"
})
export const channelWorkers = Metric.gauge("plexum_fabric.queue.workers", {
  description: "Active per-channel queue workers"
})
export const openSockets = Metric.gauge("plexum_fabric.socket.open", {
  description: "Guild sockets currently connected"
})
/** Tag with `kind`: socket_session | channel_worker | resync | catchup. */
export const activeFibers = Metric.gauge("plexum_fabric.fibers.active", {
  description: "Supervised fibers alive, by kind"
})

