/**
 * STUB — owned by the telemetry helper. Signature is the contract other modules rely on.
 * Every supervised fiber registers itself for `plexum/debug/fibers`; the entry is removed
 * when the registering scope closes.
 */
import { Effect, Scope } from "effect"

export type FiberKind = "socket_session" | "channel_worker" | "resync" | "catchup"

export interface FiberInfo {
  readonly id: number
  readonly kind: FiberKind
  readonly agent_id?: string
  readonly guild_node_id?: string
  readonly channel_id?: string
  readonly state: string
  readonly started_at: string
  readonly attempt?: number
  readonly last_error?: string
}

export type FiberPatch = Partial<Pick<FiberInfo, "state" | "attempt" | "last_error" | "channel_id">>

export interface TrackedFiber {
  readonly update: (patch: FiberPatch) => Effect.Effect<void>
}

export class FiberRegistry extends Effect.Service<FiberRegistry>()("plexum-fabric/FiberRegistry", {
  succeed: {
    track: (
      _info: Omit<FiberInfo, "id" | "started_at">
    ): Effect.Effect<TrackedFiber, never, Scope.Scope> => Effect.succeed({ update: () => Effect.void }),
    snapshot: Effect.succeed([]) as Effect.Effect<ReadonlyArray<FiberInfo>>
  }
}) {}
