/**
 * The bench's child processes (the sim host, the raw client) speak one JSON object per line:
 * commands `{id, cmd, ...}` on stdin, answers `{id, ok}` / `{id, error}` on stdout. This module
 * is their side of it.
 */
import { Chunk, Effect, FiberSet, Stream } from "effect"

/** stdin as a stream of lines; ends with stdin. */
export const stdinLines: Stream.Stream<string> = Stream.async<string>((emit) => {
  let pending = ""
  process.stdin.setEncoding("utf8")
  process.stdin.on("data", (chunk: string) => {
    pending += chunk
    const lines = pending.split("\n")
    pending = lines.pop()!
    void emit.chunk(Chunk.unsafeFromArray(lines.filter((line) => line.length > 0)))
  })
  process.stdin.on("end", () => void emit.end())
})

/** One JSON line to stdout, at once (the raw client's `--relay` writes one per message). */
export const printLine = (value: unknown): void => void process.stdout.write(JSON.stringify(value) + "\n")

export const writeLine = (value: unknown) => Effect.sync(() => printLine(value))

export interface Command {
  readonly id: number
  readonly cmd: string
  readonly [key: string]: unknown
}

const describe = (error: unknown) => error instanceof Error ? error.message : typeof error === "object" ? JSON.stringify(error) : String(error)

/**
 * Serves commands until stdin ends. Each command runs on its own fiber (a long `pace` must not
 * block the `stop` that ends it); every fiber belongs to the serving scope.
 */
export const serveCommands = (handle: (command: Command) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function*() {
    const fibers = yield* FiberSet.make()
    yield* Stream.runForEach(stdinLines, (line) => {
      const command = JSON.parse(line) as Command
      return FiberSet.run(
        fibers,
        handle(command).pipe(
          Effect.matchCauseEffect({
            onSuccess: (ok) => writeLine({ id: command.id, ok: ok ?? null }),
            onFailure: (cause) => writeLine({ id: command.id, error: describe(cause._tag === "Fail" ? cause.error : cause) })
          })
        )
      )
    })
  }).pipe(Effect.scoped)

/** The machine's monotonic clock in nanoseconds: CLOCK_MONOTONIC, shared by every process. */
export const nowNs = () => process.hrtime.bigint()
