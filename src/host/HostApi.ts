/**
 * STUB until the host layer lands — the signature is the contract.
 * What the plugin says to the host: notifications, through the one stdout writer.
 */
import { Effect } from "effect"
import type { Inbound } from "./HostProtocol.js"

export class HostApi extends Effect.Service<HostApi>()("plexum-fabric/HostApi", {
  succeed: {
    notify: (_method: string, _params?: unknown): Effect.Effect<void> => Effect.void,
    /** `notifications/plexum/channel/inbound`; completes once the line is written to stdout. */
    inbound: (_payload: Inbound): Effect.Effect<void> => Effect.void
  }
}) {}
