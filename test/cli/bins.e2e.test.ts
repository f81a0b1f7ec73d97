/**
 * End-to-end: the BUILT operator commands (dist/bin/*.js, built by `npm test` before vitest) run
 * as subprocesses, for what an operator's shell sees: exit statuses, stdout vs stderr, and that
 * the API key never appears in either.
 */
import { Command, FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { existsSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { CONFIG_FILE, IDENTITIES_FILE } from "../../src/profile/ProfileSchema.js"
import { VERSION } from "../../src/version.js"
import { Sim } from "../../src/sim/Sim.js"
import { binding, tempProfile } from "../profile/tempProfile.js"

const distBin = (name: string) => resolve(dirname(fileURLToPath(import.meta.url)), `../../dist/bin/${name}.js`)
const registerBin = distBin("register")
const bindBin = distBin("bind")
const pluginBin = distBin("plugin")
const doctorBin = distBin("doctor")

const KEY = "fab_e2e_key_never_printed_91d3"

const text = (stream: Stream.Stream<Uint8Array, unknown>) => stream.pipe(Stream.decodeText(), Stream.mkString)

/** Runs a built bin with a clean environment (no profile root inherited from the machine). */
const runBin = (bin: string, args: ReadonlyArray<string>) =>
  Effect.scoped(
    Effect.gen(function*() {
      if (!existsSync(bin)) return yield* Effect.dieMessage(`${bin} is missing: run npm run build first`)
      const process = yield* Command.make("node", bin, ...args).pipe(
        Command.env({ PLEXUM_PROFILE_ROOT: "" }),
        Command.start
      )
      const [stdout, stderr, code] = yield* Effect.all([text(process.stdout), text(process.stderr), process.exitCode], {
        concurrency: "unbounded"
      })
      return { stdout, stderr, code: Number(code) }
    })
  ).pipe(Effect.timeout("20 seconds"), Effect.orDie)

const modeOf = (root: string, file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    return (yield* Effect.orDie(fs.stat(path.join(root, file)))).mode & 0o777
  })

describe("built bins", () => {
  it.scoped("register --no-verify: exit 0, result on stdout, the key nowhere, file mode 0600", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      const run = yield* runBin(registerBin, ["--agent-id", "a1", "--api-key", KEY, "--profile", root, "--no-verify"])
      expect(run.code).toBe(0)
      expect(run.stdout).toContain("added agent a1")
      expect(run.stderr).toBe("")
      expect(run.stdout + run.stderr).not.toContain(KEY)
      expect(yield* modeOf(root, IDENTITIES_FILE)).toBe(0o600)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("register with a key the center rejects: exit 1, the reason on stderr, the key nowhere", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      const root = yield* tempProfile({ [CONFIG_FILE]: { center_api_base: sim.centerApiBase } })
      const run = yield* runBin(registerBin, ["--agent-id", "a1", "--api-key", KEY, "--profile", root])
      expect(run.code).toBe(1)
      expect(run.stdout).toBe("")
      expect(run.stderr).toContain(`plexum-fabric-register: the Fabric center at ${sim.centerApiBase} rejected the API key`)
      expect(run.stdout + run.stderr).not.toContain(KEY)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("register with a key the center accepts: exit 0, the Fabric user named", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      yield* sim.createAgent({ display_name: "Ada Bot", api_key: KEY })
      const root = yield* tempProfile({ [CONFIG_FILE]: { center_api_base: sim.centerApiBase } })
      const run = yield* runBin(registerBin, ["--agent-id", "a1", "--api-key", KEY, "--profile", root])
      expect(run.code).toBe(0)
      expect(run.stdout).toContain(`Fabric user "Ada Bot"`)
      expect(run.stdout + run.stderr).not.toContain(KEY)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("register without --api-key: usage error, exit 2", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      const run = yield* runBin(registerBin, ["--agent-id", "a1", "--profile", root])
      expect(run.code).toBe(2)
      expect(run.stderr).toContain("--api-key")
      expect(run.stdout).toBe("")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("register with the key as a stray argument: usage error, exit 2, the key masked", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      const run = yield* runBin(registerBin, ["--agent-id", "scout", "--api-key", "other", "--no-verify", "--profile", root, KEY])
      expect(run.code).toBe(2)
      expect(run.stderr).toContain("[redacted]")
      expect(run.stdout + run.stderr).not.toContain(KEY)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("bind: exit 0 when written, exit 1 with the reason on stderr for a duplicate name", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile({ "channels/support.json": binding("a1", "g_1", "c_1") })
      const ok = yield* runBin(bindBin, ["--name", "general", "--agent-id", "a1", "--guild", "g_1", "--channel", "c_2", "--profile", root])
      expect(ok.code).toBe(0)
      expect(ok.stdout).toContain("bound channel general")
      const duplicate = yield* runBin(bindBin, [
        "--name", "support", "--agent-id", "a1", "--guild", "g_1", "--channel", "c_3", "--profile", root
      ])
      expect(duplicate.code).toBe(1)
      expect(duplicate.stdout).toBe("")
      expect(duplicate.stderr).toContain(`plexum-fabric-bind: channel name "support" is already bound by channels/support.json`)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("every command answers --help and --version on stdout, exit 0", () =>
    Effect.gen(function*() {
      const commands = [
        [pluginBin, "plexum-fabric-channel-plugin"],
        [registerBin, "plexum-fabric-register"],
        [bindBin, "plexum-fabric-bind"],
        [doctorBin, "plexum-fabric-doctor"]
      ] as const
      for (const [bin, name] of commands) {
        const version = yield* runBin(bin, ["--version"])
        expect(version).toEqual({ stdout: `${VERSION}\n`, stderr: "", code: 0 })
        const help = yield* runBin(bin, ["--help"])
        expect(help.code).toBe(0)
        expect(help.stdout.startsWith(`usage: ${name}`)).toBe(true)
        expect(help.stdout).toContain("--profile <dir>")
        expect(help.stderr).toBe("")
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("the plugin refuses an unknown argument on stderr with its usage, exit 2, stdout untouched", () =>
    Effect.gen(function*() {
      const run = yield* runBin(pluginBin, ["--verbose"])
      expect(run.code).toBe(2)
      expect(run.stdout).toBe("")
      expect(run.stderr).toContain(`plexum-fabric-channel-plugin: unknown argument "--verbose"`)
      expect(run.stderr).toContain("usage: plexum-fabric-channel-plugin [--profile <dir>]")
      const missing = yield* runBin(pluginBin, ["--profile"])
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain("--profile needs a directory")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a usage error through a pipe: the usage follows, without ANSI codes", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      const run = yield* runBin(registerBin, ["--agent-id", "a1", "--profile", root])
      expect(run.code).toBe(2)
      expect(run.stderr).toContain("usage: plexum-fabric-register --agent-id <id> --api-key <key>")
      expect(run.stderr).not.toContain("\x1b[")
    }).pipe(Effect.provide(NodeContext.layer)))
})
