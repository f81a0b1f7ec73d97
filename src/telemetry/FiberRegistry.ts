/**
 * The live supervised fibers, for `plexum/debug/fibers` and the `plexum_fabric.fibers.active`
 * gauge. A fiber registers itself with `track` in its own scope, so its entry disappears
 * exactly when its owner closes it — whether it ended, failed or was interrupted.
 */
import { DateTime, Effect, Metric, Order } from "effect"
import type { Scope } from "effect"
import { acquireReleasePlain } from "../Release.js"
import { activeFibers } from "./Metrics.js"

export const fiberKinds = ["socket_session", "resync", "catchup", "typing"] as const

export type FiberKind = (typeof fiberKinds)[number]

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

/** The JSON result of `plexum/debug/fibers`. */
export interface DebugFibersResult {
  /** Every fiber, in display order; left out when only the summary was asked for. */
  readonly fibers?: ReadonlyArray<FiberInfo>
  readonly counts: Readonly<Record<FiberKind, number>>
  /** How many fibers of each kind are in each state (a kind with none has `{}`). */
  readonly states: Readonly<Record<FiberKind, Readonly<Record<string, number>>>>
}

const byDisplayOrder: Order.Order<FiberInfo> = Order.combineAll([
  Order.mapInput(Order.string, (f: FiberInfo) => f.kind),
  Order.mapInput(Order.string, (f: FiberInfo) => f.agent_id ?? ""),
  Order.mapInput(Order.string, (f: FiberInfo) => f.guild_node_id ?? ""),
  Order.mapInput(Order.string, (f: FiberInfo) => f.channel_id ?? ""),
  Order.mapInput(Order.number, (f: FiberInfo) => f.id)
])

const gaugeFor = (kind: FiberKind) => activeFibers.pipe(Metric.tagged("kind", kind))

/**
 * Builds the `plexum/debug/fibers` result from `fibers` (in display order); every kind appears
 * in `counts` and `states`, empty or not. With `summary`, the list itself is left out: a
 * thousand sessions make it hundreds of kilobytes, and a caller watching them come up polls.
 */
export const debugFibersResult = (fibers: Iterable<FiberInfo>, summary = false): DebugFibersResult => {
  const counts = Object.fromEntries(fiberKinds.map((kind) => [kind, 0])) as Record<FiberKind, number>
  const states = Object.fromEntries(fiberKinds.map((kind) => [kind, {}])) as Record<FiberKind, Record<string, number>>
  const listed = summary ? undefined : Array.from(fibers)
  for (const fiber of listed ?? fibers) {
    counts[fiber.kind]++
    states[fiber.kind][fiber.state] = (states[fiber.kind][fiber.state] ?? 0) + 1
  }
  return listed === undefined ? { counts, states } : { fibers: listed, counts, states }
}

export class FiberRegistry extends Effect.Service<FiberRegistry>()("plexum-fabric/FiberRegistry", {
  effect: Effect.sync(() => {
    // Mutated in place, in synchronous steps: a reconnect storm registers and updates thousands
    // of entries, and copying the map per change made that quadratic.
    const entries = new Map<number, FiberInfo>()
    const counts = Object.fromEntries(fiberKinds.map((kind) => [kind, 0])) as Record<FiberKind, number>
    let nextId = 1

    /** Sets the gauge to the count at the moment it runs, so the last writer is always right. */
    const settleGauge = (kind: FiberKind) => Effect.suspend(() => Metric.set(gaugeFor(kind), counts[kind]))

    const register = (info: Omit<FiberInfo, "id" | "started_at">) =>
      Effect.flatMap(DateTime.now, (now) => {
        const entry: FiberInfo = { ...info, id: nextId++, started_at: DateTime.formatIso(now) }
        entries.set(entry.id, entry)
        counts[info.kind]++
        return Effect.as(settleGauge(info.kind), entry.id)
      })

    const unregister = (id: number, kind: FiberKind) =>
      Effect.suspend(() => {
        if (entries.delete(id)) counts[kind]--
        return settleGauge(kind)
      })

    const patch = (id: number, change: FiberPatch) =>
      Effect.sync(() => {
        const current = entries.get(id)
        if (current !== undefined) entries.set(id, { ...current, ...change })
      })

    // Plain effects, not `Effect.fn`: bookkeeping runs on every state change (per message for
    // channel workers), and a span each would clutter the trace of the work it describes.
    const track = (info: Omit<FiberInfo, "id" | "started_at">): Effect.Effect<TrackedFiber, never, Scope.Scope> =>
      acquireReleasePlain(register(info), (id) => unregister(id, info.kind)).pipe(
        Effect.map((id) => ({ update: (change: FiberPatch) => patch(id, change) }))
      )

    const snapshot: Effect.Effect<ReadonlyArray<FiberInfo>> = Effect.sync(() => [...entries.values()].sort(byDisplayOrder))

    /** The `plexum/debug/fibers` result; with `summary`, counts only (no copy, no sort). */
    const debugFibers = (summary: boolean): Effect.Effect<DebugFibersResult> =>
      summary ? Effect.sync(() => debugFibersResult(entries.values(), true)) : Effect.map(snapshot, debugFibersResult)

    return { track, snapshot, debugFibers } as const
  })
}) {}
