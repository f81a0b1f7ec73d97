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
  description: "Inbound messages delivered to the host (a coalesced notification counts each message it carries)",
  incremental: true
})
/** Tag with `reason`: the inbound core's DropReason (src/inbound/Batch.ts). */
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
export const openSockets = Metric.gauge("plexum_fabric.socket.open", {
  description: "Guild sockets currently connected"
})
/** Tag with `kind`: socket_session | resync | catchup | typing. */
export const activeFibers = Metric.gauge("plexum_fabric.fibers.active", {
  description: "Supervised fibers alive, by kind"
})

