/**
 * Noticing that the host closed the plugin's stdout while nothing is being written. A closed
 * stdout shows only on a write (EPIPE), and an idle plugin may not write for hours, so a fiber
 * writes zero bytes once a second: nothing reaches the protocol stream, but on a socket
 * (Node and libuv hosts give their children socket pairs as stdio) the kernel still checks the
 * peer and fails the write with EPIPE once the host closed its end.
 *
 * A pipe (FIFO) accepts a zero-byte write even without a reader, and Node offers no poll of a
 * write end; a host on pipes is noticed at the next real write, or when it closes stdin.
 */
import { Duration, Effect } from "effect"

/** How often an idle stdout is probed. */
export const STDOUT_PROBE_INTERVAL = Duration.seconds(1)

/** Probes with `write("")` every interval; fails with the first failure of a probe. */
export const watchStdout = <E>(write: (text: string) => Effect.Effect<void, E>): Effect.Effect<never, E> =>
  Effect.forever(Effect.zipRight(Effect.sleep(STDOUT_PROBE_INTERVAL), write("")))
