/**
 * A counting semaphore that hands each released permit to the longest waiter, and wakes only
 * that one: how the plugin takes turns at a guild node. Catch-up takes one per history call
 * (`catchup_concurrency` per node), a starting session one for its channel list and catch-up,
 * PresenceSync one per online call.
 *
 * Why not Effect's Semaphore: on each release it wakes every waiter while a permit looks free,
 * and all but one of them queue again. After a reconnect storm the 100 sessions of one guild
 * node wait for its 4 permits, so each release woke ~100 fibers: counted, a million fiber
 * steps per storm, most of the catch-up's CPU (O(waiters²) per node).
 */
import { Effect } from "effect"

interface Waiter {
  readonly resume: (effect: Effect.Effect<void>) => void
  state: "waiting" | "handed" | "gone"
}

export interface FairPermits {
  /** Runs `self` holding one permit, waiting for it in arrival order; interruptible while waiting. */
  readonly withPermit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export const makeFairPermits = (permits: number): FairPermits => {
  let free = permits
  const waiters: Array<Waiter> = []

  /** A permit was let go: the longest waiter gets it, or it is kept. */
  const handOn = () => {
    for (let next = waiters.shift(); next !== undefined; next = waiters.shift()) {
      if (next.state !== "waiting") continue
      next.state = "handed"
      next.resume(Effect.void)
      return
    }
    free += 1
  }

  const acquire = Effect.async<void>((resume) => {
    if (free > 0) {
      free -= 1
      resume(Effect.void)
      return
    }
    const waiter: Waiter = { resume, state: "waiting" }
    waiters.push(waiter)
    // Interrupted while waiting: leave the line; interrupted as the permit arrived: pass it on.
    return Effect.sync(() => {
      const handed = waiter.state === "handed"
      waiter.state = "gone"
      if (handed) handOn()
    })
  })

  const release = Effect.sync(handOn)

  return {
    withPermit: (self) =>
      Effect.uninterruptibleMask((restore) => Effect.zipRight(restore(acquire), Effect.ensuring(restore(self), release)))
  }
}

/**
 * One `FairPermits` of `permits` per guild node, made on first use: politeness is owed to the
 * node, so every agent's calls to it share them.
 */
export const perNode = (permits: number): (guildNodeId: string) => FairPermits => {
  const byNode = new Map<string, FairPermits>()
  return (guildNodeId) => {
    let node = byNode.get(guildNodeId)
    if (node === undefined) byNode.set(guildNodeId, node = makeFairPermits(permits))
    return node
  }
}
