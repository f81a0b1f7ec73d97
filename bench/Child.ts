/**
 * The orchestrator's side of a child process: spawned in a scope (killed when it closes), its
 * stdout split into lines for a handler, the tail of its stderr kept for error messages.
 * `LineRpc` adds the command protocol of Lines.ts on top.
 */
import { Data, Deferred, Duration, Effect, FiberId, type Scope } from "effect"
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { nowNs } from "./Lines.js"

const probe = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "memoryProbe.js")).href

export interface Memory {
  /** Resident set size (VmRSS of /proc/<pid>/status), before the probe's collection. */
  readonly rss_mb: number
  /** V8 heap in use right after a full collection. */
  readonly heap_used_mb: number
  readonly heap_total_mb: number
}

const vmRssKb = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))
  return line === undefined ? Number.NaN : Number.parseInt(line.slice(6), 10)
}

/**
 * CPU time (user + system) the process has used so far, in µs, from /proc/<pid>/stat (fields 14
 * and 15, in clock ticks of 10 ms on Linux).
 */
export const cpuMicros = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

/** How long `quiet` watches, and what the watched processes may use meanwhile (3 ticks). */
const QUIET_WINDOW_MS = 500
const QUIET_CPU_US = 30_000

/**
 * Waits until the processes `pids` together used at most 30 ms of CPU in 500 ms, for at most
 * `limitMs`; answers whether they did. A measured run starts from a machine the previous run
 * left quiet: a receiver's background work after its burst (a continuity check reading
 * history, a collection) must not slow the other side's run down.
 */
export const quiet = (pids: ReadonlyArray<number>, limitMs: number): Effect.Effect<boolean> => {
  const used = () => pids.reduce((sum, pid) => sum + cpuMicros(pid), 0)
  const watch = (before: number): Effect.Effect<void> =>
    Effect.flatMap(Effect.sleep(QUIET_WINDOW_MS), () => {
      const now = used()
      return now - before <= QUIET_CPU_US ? Effect.void : watch(now)
    })
  return Effect.suspend(() => watch(used())).pipe(
    Effect.timeoutTo({ duration: limitMs, onSuccess: () => true, onTimeout: () => false })
  )
}

export interface ChildSpec {
  /** Node options first (e.g. `--cpu-prof`), then the script and its arguments. */
  readonly args: ReadonlyArray<string>
  readonly env?: Record<string, string>
  /** Called with every complete stdout line and the time its chunk was read. */
  readonly onLine: (line: string, readNs: bigint) => void
  /** Called with every stderr chunk (after it is kept for `stderrTail`). */
  readonly onStderr?: (chunk: string) => void
}

const MB = 1024 * 1024

export interface Child {
  readonly process: ChildProcessWithoutNullStreams
  readonly pid: number
  readonly spawnedNs: bigint
  readonly write: (line: string) => Effect.Effect<void>
  readonly stderrTail: () => string
  /** RSS and live heap of the child, through memoryProbe.ts. */
  readonly memory: Effect.Effect<Memory, ChildFailed>
}

export const spawnChild = (spec: ChildSpec): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const spawnedNs = nowNs()
      const child = spawn(process.execPath, ["--expose-gc", "--import", probe, ...spec.args], {
        env: { PATH: process.env.PATH ?? "", ...spec.env },
        stdio: ["pipe", "pipe", "pipe"]
      })
      let pending = ""
      let stderr = ""
      let probed: Deferred.Deferred<NodeJS.MemoryUsage> | undefined
      child.stdout.setEncoding("utf8")
      child.stdout.on("data", (chunk: string) => {
        const readNs = nowNs()
        pending += chunk
        let newline = pending.indexOf("\n")
        while (newline >= 0) {
          const line = pending.slice(0, newline)
          pending = pending.slice(newline + 1)
          if (line.length > 0) spec.onLine(line, readNs)
          newline = pending.indexOf("\n")
        }
      })
      child.stderr.setEncoding("utf8")
      child.stderr.on("data", (chunk: string) => {
        const report = /^bench-memory (.*)$/m.exec(chunk)
        if (report !== null && probed !== undefined) Deferred.unsafeDone(probed, Effect.succeed(JSON.parse(report[1]!)))
        stderr = (stderr + chunk).slice(-4000)
        spec.onStderr?.(chunk)
      })
      child.stdin.on("error", () => {}) // a child that died is reported by the request that waits on it
      return {
        process: child,
        pid: child.pid!,
        spawnedNs,
        write: (line: string) => Effect.sync(() => void child.stdin.write(line + "\n")),
        stderrTail: () => stderr,
        memory: Effect.suspend(() => {
          const rssKb = vmRssKb(child.pid!)
          const deferred = Deferred.unsafeMake<NodeJS.MemoryUsage>(FiberId.none)
          probed = deferred
          child.kill("SIGUSR2")
          return Deferred.await(deferred).pipe(
            Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new ChildFailed({ message: "no memory report from the child" }) }),
            Effect.map((usage): Memory => ({ rss_mb: rssKb / 1024, heap_used_mb: usage.heapUsed / MB, heap_total_mb: usage.heapTotal / MB }))
          )
        })
      }
    }),
    ({ process: child }) => stop(child)
  )

/**
 * SIGTERM, then SIGKILL if it has not exited within 5 s. A graceful end lets `--cpu-prof` write
 * its profile.
 */
const stop = (child: ChildProcessWithoutNullStreams) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGTERM")
  }).pipe(
    Effect.timeoutTo({
      duration: "5 seconds",
      onSuccess: () => Effect.void,
      onTimeout: () => Effect.sync(() => void child.kill("SIGKILL"))
    }),
    Effect.flatten
  )

export class ChildFailed extends Data.TaggedError("ChildFailed")<{ readonly message: string }> {}

/** A child speaking the command protocol of Lines.ts. */
export interface LineRpc extends Child {
  readonly call: <A = any>(cmd: string, params?: Record<string, unknown>, timeout?: Duration.DurationInput) => Effect.Effect<A, ChildFailed>
  /** The first line the child printed that was not an answer (the sim host's `ready`). */
  readonly first: (timeout: Duration.DurationInput) => Effect.Effect<any, ChildFailed>
}

/**
 * `onOther` takes every line that is not an answer, with the time its chunk was read (the raw
 * client's `--relay` lines); without it, the first such line is `first`.
 */
export const spawnRpc = (name: string, args: ReadonlyArray<string>, onOther?: (message: any, readNs: bigint) => void) =>
  Effect.gen(function*() {
    const waiting = new Map<number, Deferred.Deferred<unknown, ChildFailed>>()
    const first = yield* Deferred.make<unknown, ChildFailed>()
    let nextId = 1
    const child = yield* spawnChild({
      args,
      onLine: (line, readNs) => {
        const message = JSON.parse(line)
        const deferred = typeof message.id === "number" ? waiting.get(message.id) : undefined
        if (deferred === undefined) {
          return void (onOther === undefined ? Deferred.unsafeDone(first, Effect.succeed(message)) : onOther(message, readNs))
        }
        waiting.delete(message.id)
        Deferred.unsafeDone(deferred, "error" in message ? Effect.fail(new ChildFailed({ message: `${name}: ${message.error}` })) : Effect.succeed(message.ok))
      }
    })
    const timedOut = (what: string, timeout: Duration.DurationInput) => () =>
      new ChildFailed({
        message: `${name}: no answer to ${what} within ${Duration.format(Duration.decode(timeout))}; stderr:\n${child.stderrTail()}`
      })
    const rpc: LineRpc = {
      ...child,
      call: (cmd, params = {}, timeout = "60 seconds") =>
        Effect.suspend(() => {
          const id = nextId++
          const deferred = Deferred.unsafeMake<unknown, ChildFailed>(FiberId.none)
          waiting.set(id, deferred)
          return child.write(JSON.stringify({ ...params, id, cmd })).pipe(
            Effect.zipRight(Deferred.await(deferred)),
            Effect.timeoutFail({ duration: timeout, onTimeout: timedOut(cmd, timeout) })
          ) as Effect.Effect<any, ChildFailed>
        }),
      first: (timeout) => Deferred.await(first).pipe(Effect.timeoutFail({ duration: timeout, onTimeout: timedOut("start", timeout) }))
    }
    return rpc
  })
