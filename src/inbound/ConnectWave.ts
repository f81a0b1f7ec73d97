/**
 * Connect first, then call: the sockets a guild node is accepting right now, per node. At a
 * plugin start, or when a node restarts (every socket of every agent reconnecting at once),
 * the REST calls that follow a connect (presence, the channel list, the catch-up) wait until the
 * node has answered every handshake of the wave, or `CONNECT_WAVE_WAIT_MAX` has passed. A node
 * busy with a wave of handshakes is not also asked for thousands of REST calls in the same
 * seconds: its sockets are all back sooner, and live events wait in their sockets' mailboxes
 * meanwhile, in order, so nothing is lost or reordered. A lone socket never waits.
 */
import { Deferred, Effect, Exit, FiberId } from "effect"
import { CONNECT_WAVE_WAIT_MAX } from "./Timing.js"

interface Wave {
  /** Connect attempts under way to the node. */
  connecting: number
  /** Done when `connecting` falls to 0, or the wave's bound passed. */
  readonly settled: Deferred.Deferred<void>
}

export class ConnectWave extends Effect.Service<ConnectWave>()("plexum-fabric/ConnectWave", {
  scoped: Effect.gen(function*() {
    const scope = yield* Effect.scope
    const waves = new Map<string, Wave>()

    const enter = (node: string) =>
      Effect.suspend(() => {
        const wave = waves.get(node)
        if (wave !== undefined && wave.connecting > 0) {
          // Joins the wave under way (past its bound, it holds no one back until it ends).
          wave.connecting += 1
          return Effect.void
        }
        const settled = Deferred.unsafeMake<void>(FiberId.none)
        waves.set(node, { connecting: 1, settled })
        // The bound of this wave: one sleeping fiber per wave and node, owned by the plugin's
        // scope. Forked from an acquire (uninterruptible), so made interruptible explicitly.
        const bound = Effect.zipRight(Effect.sleep(CONNECT_WAVE_WAIT_MAX), Deferred.succeed(settled, void 0))
        return Effect.asVoid(Effect.forkIn(Effect.interruptible(bound), scope))
      })

    const leave = (node: string) =>
      Effect.sync(() => {
        const wave = waves.get(node)
        if (wave === undefined) return
        wave.connecting -= 1
        if (wave.connecting === 0) Deferred.unsafeDone(wave.settled, Exit.void)
      })

    return {
      /** `connect`, an attempt to connect to `node`, counted in the node's wave while it runs. */
      connecting: <A, E, R>(node: string, connect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
        Effect.acquireUseRelease(enter(node), () => connect, () => leave(node)),
      /** Completes once `node` has no connect attempt under way, or its wave's bound passed. */
      settled: (node: string): Effect.Effect<void> =>
        Effect.suspend(() => {
          const wave = waves.get(node)
          return wave === undefined || wave.connecting === 0 ? Effect.void : Deferred.await(wave.settled)
        })
    } as const
  })
}) {}
