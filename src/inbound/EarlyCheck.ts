/**
 * When an early continuity check starts. A channel that handled CHECK_EARLY_AT messages since its
 * last check asks for one before the next re-sync (ChannelState); it starts once the channel
 * pauses (nothing handled for CHECK_PAUSE). A check re-reads from the node everything the channel
 * brought since the last one: run during the burst that asked for it, it doubled the node's
 * reads and took the CPU the burst needed. A channel that never pauses is checked once it
 * handled CHECK_NOW_AT, below the bound at which its range is given up.
 */
import { Duration, Effect } from "effect"
import { CHECK_EARLY_AT, type ChannelState } from "./ChannelState.js"

/** How long a channel handles nothing before its early check starts. */
export const CHECK_PAUSE = Duration.millis(100)

/** Handled ids after which an early check starts without a pause. */
export const CHECK_NOW_AT = CHECK_EARLY_AT * 3 / 2

/**
 * Runs `check` once `state`'s channel paused or handled CHECK_NOW_AT; nothing when a re-sync's
 * check started first (it clears `checkRequested`).
 */
export const atPause = <E, R>(state: ChannelState, check: Effect.Effect<void, E, R>): Effect.Effect<void, E, R> => {
  const poll = (seen: number): Effect.Effect<void, E, R> =>
    Effect.flatMap(Effect.sleep(CHECK_PAUSE), () => {
      if (!state.checkRequested) return Effect.void
      const handled = state.handled.length
      return handled === seen || handled >= CHECK_NOW_AT ? check : poll(handled)
    })
  return Effect.suspend(() => poll(state.handled.length))
}
