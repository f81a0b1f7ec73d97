import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"
import { createServer } from "node:net"
import { registerCli, RegisterLive } from "../../src/cli/register.js"
import { Profile } from "../../src/profile/Profile.js"
import { CONFIG_FILE, IDENTITIES_FILE } from "../../src/profile/ProfileSchema.js"
import { Sim } from "../../src/sim/Sim.js"
import { readText, tempProfile } from "../profile/tempProfile.js"
import { type CommandRun, commandFailure, failureOf, runCaptured } from "./commandHarness.js"
import { FabricTransportLive } from "../../src/fabric/FabricTransport.js"

const TestLive = RegisterLive.pipe(Layer.provideMerge(Layer.mergeAll(NodeContext.layer, FabricTransportLive)))

const KEY = "fab_test_key_do_not_print_7c1e"

const expectNoKey = <E>(run: CommandRun<E>, key: string) => {
  expect(run.stdout).not.toContain(key)
  expect(run.stderr).not.toContain(key)
  expect(String(failureOf(run)?.toString() ?? "")).not.toContain(key)
  expect(JSON.stringify(failureOf(run) ?? {})).not.toContain(key)
}

const expectNoIdentitiesFile = (root: string) =>
  Effect.map(Effect.exit(readText(root, IDENTITIES_FILE)), (exit) => expect(exit).toSatisfy(Exit.isFailure))

const identities = (root: string) => Effect.map(readText(root, IDENTITIES_FILE), (text) => JSON.parse(text))

/** A port nothing listens on: bound, then released. */
const closedPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    server.close(() => resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0)))
  })
})

describe("plexum-fabric-register --no-verify", () => {
  it.scoped("adds the agent's entry (mode 0600), prints what it did and never the key", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      const run = yield* runCaptured(registerCli, ["--agent-id", "a1", "--api-key", KEY, "--profile", root, "--no-verify"])
      expect(Exit.isSuccess(run.exit)).toBe(true)
      expect(run.stdout).toContain("added agent a1 (enabled, key not verified)")
      expect(run.stdout).toContain(IDENTITIES_FILE)
      expectNoKey(run, KEY)
      expect(yield* identities(root)).toEqual({ version: 1, agents: { a1: { fabric_api_key: KEY, enabled: true } } })
      const profile = yield* (yield* Profile).load(root)
      expect(Redacted.value(profile.identities.get("a1")!.apiKey)).toBe(KEY)
    }).pipe(Effect.provide(TestLive)))

  it.scoped("--disable replaces the entry, keeping the other agents", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile({
        [IDENTITIES_FILE]: { version: 1, agents: { a1: { fabric_api_key: "old" }, a2: { fabric_api_key: "two" } } }
      })
      const run = yield* runCaptured(registerCli, [
        "--agent-id", "a1", "--api-key", KEY, "--profile", root, "--disable", "--no-verify"
      ])
      expect(run.stdout).toContain("replaced agent a1 (disabled, key not verified)")
      expectNoKey(run, KEY)
      expect(yield* identities(root)).toEqual({
        version: 1,
        agents: { a1: { fabric_api_key: KEY, enabled: false }, a2: { fabric_api_key: "two" } }
      })
    }).pipe(Effect.provide(TestLive)))

  it.scoped("rejects an agent id with spaces and an empty key, writing nothing", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      const badId = yield* runCaptured(registerCli, ["--agent-id", "a 1", "--api-key", KEY, "--profile", root, "--no-verify"])
      expect(commandFailure(badId)?.message).toContain(`--agent-id "a 1" is not a Plexum agent id`)
      const emptyKey = yield* runCaptured(registerCli, ["--agent-id", "a1", "--api-key", " ", "--profile", root, "--no-verify"])
      expect(commandFailure(emptyKey)?.message).toContain("--api-key is empty")
      yield* expectNoIdentitiesFile(root)
    }).pipe(Effect.provide(TestLive)))
})

// Live clock: the login's retries and timeouts are real waits here.
describe("plexum-fabric-register against the sim's center", () => {
  it.scopedLive("a good key: logs in, names the Fabric user, writes the entry", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      const agent = yield* sim.createAgent({ display_name: "Ada Bot", api_key: KEY })
      const root = yield* tempProfile({ [CONFIG_FILE]: { center_api_base: sim.centerApiBase } })
      const run = yield* runCaptured(registerCli, ["--agent-id", "ada", "--api-key", KEY, "--profile", root])
      expect(Exit.isSuccess(run.exit)).toBe(true)
      expect(run.stdout).toContain(`as Fabric user "Ada Bot" (${agent.id})`)
      expect(run.stdout).toContain(sim.centerApiBase)
      expect(run.stdout).toContain("added agent ada (enabled)")
      expectNoKey(run, KEY)
      expect(yield* sim.loginCount(agent.id)).toBe(1)
      expect((yield* identities(root)).agents.ada).toEqual({ fabric_api_key: KEY, enabled: true })
    }).pipe(Effect.provide(TestLive)))

  it.scopedLive("a bad key: a clear message naming the center, nothing written", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      const root = yield* tempProfile({ [CONFIG_FILE]: { center_api_base: sim.centerApiBase } })
      const run = yield* runCaptured(registerCli, ["--agent-id", "ada", "--api-key", KEY, "--profile", root])
      const message = commandFailure(run)?.message ?? ""
      expect(message).toContain(`the Fabric center at ${sim.centerApiBase} rejected the API key for agent ada`)
      expect(message).toContain("nothing was written")
      expectNoKey(run, KEY)
      yield* expectNoIdentitiesFile(root)
    }).pipe(Effect.provide(TestLive)))

  it.scopedLive("the login follows the profile's retry policy: a passing 503 is retried, unless max_retries is 0", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      yield* sim.createAgent({ display_name: "Ada Bot", api_key: KEY })
      const patient = yield* tempProfile({ [CONFIG_FILE]: { center_api_base: sim.centerApiBase } })
      yield* sim.failNext({ scope: "center", route: "login", status: 503 })
      const retried = yield* runCaptured(registerCli, ["--agent-id", "ada", "--api-key", KEY, "--profile", patient])
      expect(Exit.isSuccess(retried.exit)).toBe(true)

      const impatient = yield* tempProfile({ [CONFIG_FILE]: { center_api_base: sim.centerApiBase, max_retries: 0 } })
      yield* sim.failNext({ scope: "center", route: "login", status: 503 })
      const failed = yield* runCaptured(registerCli, ["--agent-id", "ada", "--api-key", KEY, "--profile", impatient])
      expect(commandFailure(failed)?.message).toContain(`cannot reach the Fabric center at ${sim.centerApiBase} (HTTP 503)`)
      expectNoKey(failed, KEY)
      yield* expectNoIdentitiesFile(impatient)
    }).pipe(Effect.provide(TestLive)))

  it.scopedLive("an unreachable center: a clear message naming its URL, nothing written", () =>
    Effect.gen(function*() {
      const center = `http://127.0.0.1:${yield* closedPort}/api`
      const root = yield* tempProfile({ [CONFIG_FILE]: { center_api_base: center } })
      const run = yield* runCaptured(registerCli, ["--agent-id", "ada", "--api-key", KEY, "--profile", root])
      const message = commandFailure(run)?.message ?? ""
      expect(message).toContain(`cannot reach the Fabric center at ${center}`)
      expect(message).toContain("--no-verify")
      expectNoKey(run, KEY)
      yield* expectNoIdentitiesFile(root)
    }).pipe(Effect.provide(TestLive)))
})

describe("plexum-fabric-register --list", () => {
  it.scoped("lists every agent, enabled or not, with its bindings, and never a key", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      yield* runCaptured(registerCli, ["--agent-id", "b2", "--api-key", KEY, "--profile", root, "--no-verify", "--disable"])
      yield* runCaptured(registerCli, ["--agent-id", "a1", "--api-key", `${KEY}_2`, "--profile", root, "--no-verify"])
      const run = yield* runCaptured(registerCli, ["--list", "--profile", root])
      expect(Exit.isSuccess(run.exit)).toBe(true)
      expect(run.stdout).toBe("a1\tenabled\t0 binding(s)\nb2\tdisabled\t0 binding(s)")
      expectNoKey(run, KEY)
    }).pipe(Effect.provide(TestLive)))

  it.scoped("says how to register when no agent is", () =>
    Effect.gen(function*() {
      const root = yield* tempProfile()
      const run = yield* runCaptured(registerCli, ["--list", "--profile", root])
      expect(run.stdout).toContain("no agent is registered")
      expect(run.stdout).toContain("plexum-fabric-register --agent-id")
    }).pipe(Effect.provide(TestLive)))
})
