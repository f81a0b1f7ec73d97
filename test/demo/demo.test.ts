/**
 * `npm run demo` as a user runs it: the built demo as a subprocess (sim, profile via the real
 * commands, plugin under the demo host, echo agent). It must exit 0 after showing every echo,
 * a quick burst of alice's answered once from one coalesced notification (the demo profile sets
 * `coalesce_ms`); with --interactive, lines on stdin are alice's, and end of input ends the demo.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit } from "effect"
import { spawn } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const demoMain = resolve(dirname(fileURLToPath(import.meta.url)), "../../dist/demo/main.js")

interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the demo to its end (at most 60 s); `input` is written to its stdin, then closed. */
const runDemo = (args: ReadonlyArray<string>, input?: string) =>
  Effect.gen(function*() {
    const done = yield* Deferred.make<Finished>()
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, [demoMain, ...args], { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] })
      ),
      (child) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
    )
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (chunk) => void (stdout += chunk))
    child.stderr!.on("data", (chunk) => void (stderr += chunk))
    child.on("close", (code) => Deferred.unsafeDone(done, Exit.succeed({ code, stdout, stderr })))
    if (input !== undefined) child.stdin!.end(input)
    return yield* Deferred.await(done).pipe(
      Effect.timeoutFail({
        duration: Duration.seconds(60),
        onTimeout: () => new Error(`the demo did not finish in 60 s; stdout:\n${stdout}\nstderr:\n${stderr}`)
      })
    )
  })

describe("npm run demo", () => {
  it.scopedLive("shows alice's DM and group messages answered in place, then stops cleanly", () =>
    Effect.gen(function*() {
      const run = yield* runDemo([])
      expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0)
      expect(run.stdout).toContain("[DM alice↔Echo] alice: hi Echo, are you there?")
      expect(run.stdout).toContain("[DM alice↔Echo] Echo: echo: ")
      expect(run.stdout).toContain("[#general] alice: @Echo please repeat after me: the build is green")
      expect(run.stdout).toContain("[#general] Echo: echo: ")
      // v1.1 history: the two lines alice wrote in #general without waking Echo came as context.
      expect(run.stdout).toContain("[#general] alice: the deploy finished at noon")
      expect(run.stdout).toContain("(I read 2 earlier messages as context)")
      expect(run.stdout).toMatch(/\+\d+\.\d ms\s+inbound notification at the host/)
      expect(run.stdout).toMatch(/\+\d+\.\d ms\s+message\.created m_\w+ in Fabric/)
      // v1.1: alice sees the agent typing; an answer over 4000 characters arrives in parts.
      expect(run.stdout).toContain(`alice sees "Echo is typing…"`)
      expect(run.stdout).toContain("[#general] alice: @Echo write a long report on the build")
      expect(run.stdout).toMatch(/sent 3 messages m_\w+, m_\w+, m_\w+ to #general/)
      expect(run.stdout).toContain("it arrived as 3 messages, in order")
      // v1.1 coalescing (coalesce_ms 1500 in the demo profile): each waking message waits out
      // the window, and the transcript says so.
      expect(run.stdout).toContain("coalesce_ms is 1500")
      expect(run.stdout).toMatch(/\+1\d{3}\.\d ms\s+inbound notification at the host once alice was quiet for coalesce_ms \(1500 ms\) \(channel/)
      // A quick burst of three lines in the DM (each wakes the agent): ONE notification
      // carrying all three ids, oldest first (message_id the newest, coalesced_message_ids the
      // two earlier), ONE answer.
      const burst = ["hey", "quick q", "can you check the deploy log?"]
      const posted = run.stdout.indexOf(burst.map((line) => `[DM alice↔Echo] alice: ${line}`).join("\n"))
      expect(posted, "alice's burst, three lines in a row").toBeGreaterThan(0)
      const after = run.stdout.slice(posted)
      const carried = /inbound notification at the host[^\n]*: her 3 messages as one \(message_id (m_\d+), coalesced_message_ids (m_\d+), (m_\d+)\)/
        .exec(after)
      expect(carried, "one notification carrying the burst").not.toBeNull()
      const [newest, first, second] = carried!.slice(1).map((id) => Number(id.slice(2)))
      expect(first! < second! && second! < newest!, `ids oldest first: ${carried![0]}`).toBe(true)
      expect(after.match(/inbound notification at the host/g), "no other notification after the burst").toHaveLength(1)
      const answer = "[DM alice↔Echo] Echo: echo: hey / quick q / can you check the deploy log? (I received 3 messages as one turn)"
      expect(run.stdout.split(answer)).toHaveLength(2)
      expect(after.match(/\[DM alice↔Echo\] Echo: /g), "one answer to the burst").toHaveLength(1)
      expect(run.stdout).toContain("✓ one inbound notification carried all 3 of alice's messages, oldest first; Echo answered once")
      expect(run.stdout).toContain("✓ Fabric holds all 4 echo(es)")
      expect(run.stdout).toContain("✓ the plugin stopped cleanly (exit status 0)")
      // Progress is on stderr, one line per step off a terminal.
      expect(run.stderr).toContain("✓ starting the local Fabric")
      expect(run.stdout).not.toContain("starting the local Fabric")
    }), { timeout: 90_000 })

  it.scopedLive("--interactive: each line typed is alice's, end of input ends the demo", () =>
    Effect.gen(function*() {
      const run = yield* runDemo(["--interactive"], "ping over DM\n#general @Echo ping the room\n")
      expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0)
      expect(run.stdout).toContain("[DM alice↔Echo] alice: ping over DM")
      expect(run.stdout).toContain("[DM alice↔Echo] Echo: echo: ")
      expect(run.stdout).toContain("[#general] alice: @Echo ping the room")
      expect(run.stdout).toContain("[#general] Echo: echo: ")
      expect(run.stdout).toContain("✓ the plugin stopped cleanly")
    }), { timeout: 90_000 })
})
