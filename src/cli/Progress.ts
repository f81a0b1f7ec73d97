/**
 * Progress of long or waiting steps, on stderr so that stdout stays clean for `--json` and for
 * the demo's transcript. On a terminal a step is a spinner with its elapsed time; elsewhere
 * (CI logs, pipes) a step is a plain line, because carriage returns make such logs unreadable.
 */
import { Clock, Duration, Effect, Exit, Layer, Ref, Schedule } from "effect"

export interface ProgressSink {
  /** Whether the sink is a terminal that understands `\r` and erase-line. */
  readonly tty: boolean
  readonly write: (text: string) => Effect.Effect<void>
}

export interface StepOptions {
  /**
   * The step's outcome is reported elsewhere (the doctor's report on stdout): on a terminal the
   * spinner is erased instead of leaving a ✓/✗ line behind; off a terminal no end line is written.
   */
  readonly transient?: boolean
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
/** How often the spinner redraws. */
export const spinnerInterval = Duration.millis(80)
const ERASE_LINE = "\r\x1b[2K"

export const formatElapsed = (millis: number): string =>
  millis < 1000 ? `${Math.round(millis)} ms` : `${(millis / 1000).toFixed(1)} s`

export const makeProgress = (sink: ProgressSink) =>
  Effect.gen(function*() {
    /** Whether a spinner frame is on screen, so that a plain line erases it first. */
    const spinning = yield* Ref.make(false)
    const eraseSpinner = Effect.flatMap(Ref.getAndSet(spinning, false), (on) => on ? sink.write(ERASE_LINE) : Effect.void)

    const line = (text: string): Effect.Effect<void> => Effect.zipRight(eraseSpinner, sink.write(`${text}\n`))

    /** Redraws until interrupted; its type says it never ends on its own. */
    const spin = (label: string, startedAt: number): Effect.Effect<never> => {
      let frame = 0
      const draw = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* Ref.set(spinning, true)
        yield* sink.write(`${ERASE_LINE}${FRAMES[frame++ % FRAMES.length]} ${label} (${formatElapsed(now - startedAt)})`)
      })
      return Effect.zipRight(Effect.repeat(draw, Schedule.spaced(spinnerInterval)), Effect.never)
    }

    // The step runs in the caller's context, its Scope included: a resource it acquires (the
    // demo's sim) outlives the step. The spinner is a racer that loses when the step ends.
    const step = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>, options: StepOptions = {}): Effect.Effect<A, E, R> =>
      Effect.gen(function*() {
        const startedAt = yield* Clock.currentTimeMillis
        if (!sink.tty) yield* line(`… ${label}`)
        const exit = sink.tty ? yield* Effect.raceFirst(Effect.exit(effect), spin(label, startedAt)) : yield* Effect.exit(effect)
        yield* eraseSpinner
        if (!options.transient) {
          const elapsed = formatElapsed((yield* Clock.currentTimeMillis) - startedAt)
          yield* line(Exit.isSuccess(exit) ? `✓ ${label} (${elapsed})` : `✗ ${label} (${elapsed})`)
        }
        return yield* exit
      })

    return { tty: sink.tty, line, step } as const
  })

const stderrSink: ProgressSink = {
  tty: process.stderr.isTTY === true,
  write: (text) => Effect.sync(() => void process.stderr.write(text))
}

export class Progress extends Effect.Service<Progress>()("plexum-fabric/Progress", {
  effect: makeProgress(stderrSink)
}) {
  /** Progress written to `sink` instead of stderr (tests, or a caller that owns the terminal). */
  static readonly layer = (sink: ProgressSink) => Layer.effect(Progress, Effect.map(makeProgress(sink), Progress.make))
}
