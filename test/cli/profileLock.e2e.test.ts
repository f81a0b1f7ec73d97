/**
 * The profile lock, end to end: the BUILT operator commands run as twenty real subprocesses at
 * once, and a lock left by a dead process is broken. The stale rule itself is a pure function.
 */
import { Command, FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Stream } from "effect"
import { existsSync } from "node:fs"
import { hostname } from "node:os"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { isStale, LOCK_FILE } from "../../src/profile/ProfileLock.js"
import { IDENTITIES_FILE } from "../../src/profile/ProfileSchema.js"
import { tempProfile } from "../profile/tempProfile.js"

const distBin = (name: string) => resolve(dirname(fileURLToPath(import.meta.url)), `../../dist/bin/${name}.js`)

const text = (stream: Stream.Stream<Uint8Array, unknown>) => stream.pipe(Stream.decodeText(), Stream.mkString)

const runBin = (bin: string, args: ReadonlyArray<string>) =>
  Effect.scoped(
    Effect.gen(function*() {
      if (!existsSync(distBin(bin))) return yield* Effect.dieMessage(`${distBin(bin)} is missing: run npm run build first`)
      const process = yield* Command.make("node", distBin(bin), ...args).pipe(Command.env({ PLEXUM_PROFILE_ROOT: "" }), Command.start)
      const [stdout, stderr, code] = yield* Effect.all([text(process.stdout), text(process.stderr), process.exitCode], {
        concurrency: "unbounded"
      })
      return { stdout, stderr, code: Number(code) }
    })
  ).pipe(Effect.timeout("60 seconds"), Effect.orDie)

const agents = Array.from({ length: 20 }, (_, i) => `agent-${i}`)

describe("profile lock", () => {
  it.scoped("20 concurrent plexum-fabric-register runs leave 20 entries, valid JSON, mode 0600, no lock", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const root = yield* tempProfile()
      const runs = yield* Effect.forEach(
        agents,
        (agent) => runBin("register", ["--agent-id", agent, "--api-key", `fab_key_${agent}`, "--profile", root, "--no-verify"]),
        { concurrency: "unbounded" }
      )
      expect(runs.map((run) => run.code)).toEqual(agents.map(() => 0))
      const file = JSON.parse(yield* Effect.orDie(fs.readFileString(path.join(root, IDENTITIES_FILE))))
      expect(Object.keys(file.agents).sort()).toEqual([...agents].sort())
      expect(file.agents["agent-7"]).toEqual({ fabric_api_key: "fab_key_agent-7", enabled: true })
      expect((yield* Effect.orDie(fs.stat(path.join(root, IDENTITIES_FILE)))).mode & 0o777).toBe(0o600)
      expect(yield* Effect.orDie(fs.readDirectory(root))).not.toContain(LOCK_FILE)
    }).pipe(Effect.provide(NodeContext.layer)), 120_000)

  it.scoped("20 concurrent plexum-fabric-bind runs write 20 bindings", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const root = yield* tempProfile()
      const runs = yield* Effect.forEach(
        agents,
        (agent, i) =>
          runBin("bind", ["--name", `ch-${i}`, "--agent-id", agent, "--guild", "g_1", "--channel", `c_${i}`, "--profile", root]),
        { concurrency: "unbounded" }
      )
      expect(runs.map((run) => run.code)).toEqual(agents.map(() => 0))
      const files = (yield* Effect.orDie(fs.readDirectory(path.join(root, "channels")))).sort()
      expect(files).toEqual(agents.map((_, i) => `ch-${i}.json`).sort())
      expect(yield* Effect.orDie(fs.readDirectory(root))).not.toContain(LOCK_FILE)
    }).pipe(Effect.provide(NodeContext.layer)), 120_000)

  it.scoped("a lock left by a process that is gone is broken, with a warning", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const root = yield* tempProfile()
      // A pid no process has: above the kernel's pid_max (4194304 at most).
      const dead = { pid: 4_194_305, host: hostname(), since: 0, nonce: "left" }
      yield* Effect.orDie(fs.writeFileString(path.join(root, LOCK_FILE), JSON.stringify(dead)))
      const run = yield* runBin("register", ["--agent-id", "a1", "--api-key", "fab_key_a1", "--profile", root, "--no-verify"])
      expect(run.code).toBe(0)
      expect(run.stderr).toContain(`breaking a stale profile lock ${path.join(root, LOCK_FILE)}`)
      expect(yield* Effect.orDie(fs.readDirectory(root))).not.toContain(LOCK_FILE)
    }).pipe(Effect.provide(NodeContext.layer)), 60_000)

  it("isStale: a dead owner on this host, an old lock, or unreadable content that has aged", () => {
    const owner = (host: string) => Option.some({ pid: 42, host, since: 0, nonce: "n" })
    const alive = (pid: number) => pid === 42
    const dead = () => false
    expect(isStale(owner("here"), 500, "here", alive)).toBe(false)
    expect(isStale(owner("here"), 500, "here", dead)).toBe(true)
    // Another host's pid cannot be checked from here: only age counts.
    expect(isStale(owner("there"), 500, "here", dead)).toBe(false)
    expect(isStale(owner("there"), 31_000, "here", alive)).toBe(true)
    expect(isStale(Option.none(), 200, "here", alive)).toBe(false)
    expect(isStale(Option.none(), 1_500, "here", alive)).toBe(true)
  })
})
