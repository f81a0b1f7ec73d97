/**
 * plexum-fabric-doctor against the real sim: a passing run, then every check failing for its
 * own reason, each with the later checks skipped. The command runs in-process (its output
 * captured from Console); one run of the built bin covers --json and the exit status.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Console, Deferred, Duration, Effect, Exit, Layer, Redacted } from "effect"
import { spawn } from "node:child_process"
import { chmod, writeFile } from "node:fs/promises"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { cli, DoctorLive } from "../../src/cli/doctor.js"
import { Progress } from "../../src/cli/Progress.js"
import { Sim } from "../../src/sim/Sim.js"
import { SimSeed } from "../../src/sim/SimSeed.js"
import { binding, makeProfile, type ProfileSpec } from "../e2e/harness.js"
import { FabricTransportLive } from "../../src/fabric/FabricTransport.js"

const doctorBin = resolve(dirname(fileURLToPath(import.meta.url)), "../../dist/bin/doctor.js")

const seed = new SimSeed({
  users: [
    { key: "alice", display_name: "alice", kind: "user" },
    { key: "bot", display_name: "Bot", kind: "agent" }
  ],
  guilds: [
    {
      key: "main",
      name: "Main",
      members: ["alice", "bot"],
      channels: [
        { key: "general", name: "general", x_type: "group", members: ["alice", "bot"] },
        { key: "secret", name: "secret", x_type: "private", members: ["alice"] },
        { key: "lobby", name: "lobby", x_type: "public", members: ["alice"] }
      ]
    },
    { key: "other", name: "Other", members: ["alice"], channels: [] }
  ]
})

/** A sim with the seed above, and a profile spec whose every check passes. */
const world = Effect.gen(function*() {
  const sim = yield* Sim.start()
  const seeded = yield* sim.seed(seed)
  const main = seeded.guilds["main"]!
  const apiKey = Redacted.value(seeded.users["bot"]!.api_key!)
  const good: ProfileSpec = {
    config: { center_api_base: sim.centerApiBase },
    agents: { bot: { apiKey } },
    bindings: { "fabric-general": binding("bot", main.node_id, main.channels["general"]!) }
  }
  return { sim, seeded, main, other: seeded.guilds["other"]!, apiKey, good }
})

interface Run {
  readonly ok: boolean
  readonly stdout: string
  readonly progress: string
}

/** Runs the command in-process; stdout from Console, progress from its own sink. */
const doctor = (root: string, ...args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const progress: Array<string> = []
    const console = yield* Effect.console
    const captured: Console.Console = {
      ...console,
      log: (...parts) => Effect.sync(() => void out.push(parts.join(" "))),
      error: (...parts) => Effect.sync(() => void out.push(parts.join(" ")))
    }
    const exit = yield* cli(["node", "plexum-fabric-doctor", "--profile", root, ...args]).pipe(
      Effect.withConsole(captured),
      Effect.provide(Progress.layer({ tty: false, write: (text) => Effect.sync(() => void progress.push(text)) })),
      Effect.provide(DoctorLive),
      Effect.provide(Layer.mergeAll(NodeContext.layer, FabricTransportLive)),
      Effect.exit
    )
    if (Exit.isFailure(exit)) {
      const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect((error as { readonly _tag?: string } | undefined)?._tag, String(exit.cause)).toBe("DoctorFailed")
    }
    return { ok: Exit.isSuccess(exit), stdout: out.join("\n"), progress: progress.join("") } satisfies Run
  })

const line = (run: Run, mark: "✓" | "✗" | "–", title: string) => {
  const found = run.stdout.split("\n").find((l) => l.startsWith(`${mark} ${title}`))
  expect(found, `no "${mark} ${title}" line in:\n${run.stdout}`).toBeDefined()
  return found!
}

const fixOf = (run: Run, title: string) => {
  const lines = run.stdout.split("\n")
  const index = lines.findIndex((l) => l.startsWith(`✗ ${title}`))
  expect(index, `no failed "${title}" in:\n${run.stdout}`).toBeGreaterThanOrEqual(0)
  return lines[index + 1] ?? ""
}

const noSecret = (run: Run, apiKey: string) => {
  expect(run.stdout).not.toContain(apiKey)
  expect(run.stdout).not.toMatch(/eyJ[\w-]+\.[\w-]+\./) // no JWT
}

describe("plexum-fabric-doctor", () => {
  it.scopedLive("passes every check on a good profile, without printing a key or token", () =>
    Effect.gen(function*() {
      const { apiKey, good, main } = yield* world
      const root = yield* makeProfile(good)
      const run = yield* doctor(root)
      expect(run.ok, run.stdout).toBe(true)
      for (
        const title of [
          "profile directory",
          "config plugins/plexum-fabric-channel/config.json",
          "identities fabric-identities.json",
          "binding channels/fabric-general.json",
          "profile loads",
          "wake policy of agent bot",
          "login of agent bot",
          `guild ${main.node_id} (binding fabric-general)`,
          `channel ${main.channels["general"]} (binding fabric-general)`,
          `socket.io handshake of agent bot with guild ${main.node_id}`
        ]
      ) line(run, "✓", title)
      expect(line(run, "✓", "wake policy of agent bot")).toContain("dm open, group open")
      expect(run.stdout).toMatch(/all 10 checks passed$/)
      expect(run.progress).toContain("… logging in agent bot")
      noSecret(run, apiKey)
    }))

  it.scopedLive("a config that does not decode: names the field, skips the rest", () =>
    Effect.gen(function*() {
      const { good, sim } = yield* world
      const root = yield* makeProfile({ ...good, config: { center_api_bse: sim.centerApiBase } })
      const run = yield* doctor(root)
      expect(run.ok).toBe(false)
      expect(line(run, "✗", "config")).toContain('"center_api_bse"')
      expect(fixOf(run, "config")).toContain("config.json")
      line(run, "–", "profile loads")
      expect(line(run, "–", "Fabric checks")).toContain("skipped")
    }))

  it.scopedLive("identities: a missing file, then one readable by others", () =>
    Effect.gen(function*() {
      const { apiKey, good } = yield* world
      const missing = yield* makeProfile({ ...good, agents: undefined })
      const absent = yield* doctor(missing)
      expect(absent.ok).toBe(false)
      expect(line(absent, "✗", "identities")).toContain("does not exist")
      expect(fixOf(absent, "identities")).toContain("plexum-fabric-register")
      line(absent, "–", "Fabric checks")

      const shared = yield* makeProfile(good)
      yield* Effect.promise(() => chmod(join(shared, "fabric-identities.json"), 0o644))
      const open = yield* doctor(shared)
      expect(open.ok).toBe(false)
      expect(line(open, "✗", "identities")).toContain("mode 0644")
      expect(fixOf(open, "identities")).toContain(`chmod 600 ${join(shared, "fabric-identities.json")}`)
      noSecret(open, apiKey)
    }))

  it.scopedLive("an invalid binding file names the file and the field; another plugin's file is ignored", () =>
    Effect.gen(function*() {
      const { good, main } = yield* world
      const root = yield* makeProfile({
        ...good,
        bindings: {
          ...good.bindings,
          broken: binding("bot", main.node_id, main.channels["general"]!, { fabric_channel_id: 42 }),
          theirs: { plugin: "someone-else", whatever: true }
        }
      })
      const run = yield* doctor(root)
      expect(run.ok).toBe(false)
      expect(line(run, "✗", "binding channels/broken.json")).toContain("fabric_channel_id")
      expect(fixOf(run, "binding channels/broken.json")).toContain("plexum-fabric-bind")
      line(run, "✓", "binding channels/fabric-general.json")
      expect(run.stdout).not.toContain("theirs.json")
      line(run, "–", "profile loads")
    }))

  it.scopedLive("a binding for an agent without identity fails with the register command", () =>
    Effect.gen(function*() {
      const { good, main } = yield* world
      const root = yield* makeProfile({ ...good, bindings: { ...good.bindings, ghost: binding("ghost", main.node_id, main.channels["general"]!) } })
      const run = yield* doctor(root)
      expect(line(run, "✗", "binding channels/ghost.json")).toContain("agent ghost has no enabled Fabric identity")
      expect(fixOf(run, "binding channels/ghost.json")).toContain("--agent-id ghost")
    }))

  it.scopedLive("a key the center refuses: login fails, the binding's guild, channel and socket are skipped", () =>
    Effect.gen(function*() {
      const { good, main } = yield* world
      const root = yield* makeProfile({ ...good, agents: { bot: { apiKey: "sim_not_a_key" } } })
      const run = yield* doctor(root)
      expect(run.ok).toBe(false)
      expect(line(run, "✗", "login of agent bot")).toContain("refused the API key")
      expect(fixOf(run, "login of agent bot")).toContain("plexum-fabric-register")
      expect(line(run, "–", `guild ${main.node_id}`)).toContain("agent bot did not log in")
      line(run, "–", `channel ${main.channels["general"]}`)
      expect(line(run, "–", `socket.io handshake of agent bot with guild ${main.node_id}`)).toContain("agent bot did not log in")
      expect(run.stdout).not.toContain("sim_not_a_key")
    }))

  it.scopedLive("a center that does not answer: login fails with the config fix", () =>
    Effect.gen(function*() {
      const { good } = yield* world
      const root = yield* makeProfile({ ...good, config: { center_api_base: "http://127.0.0.1:9/api" } })
      const run = yield* doctor(root)
      expect(line(run, "✗", "login of agent bot")).toContain("does not answer")
      expect(fixOf(run, "login of agent bot")).toContain("center_api_base")
    }))

  it.scopedLive("a guild the agent cannot access: guild fails, its channel is skipped", () =>
    Effect.gen(function*() {
      const { good, other } = yield* world
      const root = yield* makeProfile({ ...good, bindings: { ...good.bindings, elsewhere: binding("bot", other.node_id, "c_x") } })
      const run = yield* doctor(root)
      expect(run.ok).toBe(false)
      expect(line(run, "✗", `guild ${other.node_id} (binding elsewhere)`)).toContain(`is not in guild ${other.node_id}`)
      expect(fixOf(run, `guild ${other.node_id}`)).toContain("channels/elsewhere.json")
      expect(line(run, "–", "channel c_x (binding elsewhere)")).toContain("not accessible")
      line(run, "✓", "channel c_") // the good binding still checks out
    }))

  it.scopedLive("a channel that does not exist, and channels the agent is not a member of", () =>
    Effect.gen(function*() {
      const { good, main } = yield* world
      const root = yield* makeProfile({
        ...good,
        bindings: {
          ...good.bindings,
          gone: binding("bot", main.node_id, "c_99999999"),
          secret: binding("bot", main.node_id, main.channels["secret"]!),
          lobby: binding("bot", main.node_id, main.channels["lobby"]!)
        }
      })
      const run = yield* doctor(root)
      expect(run.ok).toBe(false)
      expect(line(run, "✗", "channel c_99999999 (binding gone)")).toContain("has no channel c_99999999")
      expect(fixOf(run, "channel c_99999999")).toContain("fabric_channel_id in channels/gone.json")
      for (const name of ["secret", "lobby"]) {
        const title = `channel ${main.channels[name]} (binding ${name})`
        expect(line(run, "✗", title)).toContain("is not a member")
        expect(fixOf(run, title)).toContain("add Fabric user")
      }
      // Only the public channel can be joined by the agent; the private one needs a member.
      expect(fixOf(run, `channel ${main.channels["lobby"]} (binding lobby)`)).toContain("join_channel")
      expect(fixOf(run, `channel ${main.channels["secret"]} (binding secret)`)).not.toContain("join")
      line(run, "✓", `socket.io handshake of agent bot with guild ${main.node_id}`)
    }))

  it.scopedLive("a socket.io handshake refused (a proxy that drops WebSocket upgrades)", () =>
    Effect.gen(function*() {
      const { good, main, sim } = yield* world
      const proxy = yield* restOnlyProxy(sim.centerApiBase, main.endpoint)
      const root = yield* makeProfile({ ...good, config: { center_api_base: `${proxy}/api` } })
      const run = yield* doctor(root)
      expect(run.ok).toBe(false)
      line(run, "✓", "login of agent bot")
      line(run, "✓", `channel ${main.channels["general"]}`)
      const socket = line(run, "✗", `socket.io handshake of agent bot with guild ${main.node_id}`)
      expect(socket).toContain(`cannot connect to guild node ${proxy}`)
      expect(fixOf(run, "socket.io handshake")).toContain("WebSocket upgrades")
    }))

  it.scopedLive("the built bin prints the report as JSON and exits 0 only when all pass", () =>
    Effect.gen(function*() {
      const { apiKey, good } = yield* world
      const root = yield* makeProfile(good)
      const passed = yield* runBin(["--profile", root, "--json"])
      expect(passed.code, passed.stderr).toBe(0)
      const report = JSON.parse(passed.stdout)
      expect(report).toMatchObject({ ok: true, failed: 0, skipped: 0, profile: root })
      expect(report.checks.map((c: { readonly status: string }) => c.status)).toEqual(Array(10).fill("pass"))
      expect(passed.stdout + passed.stderr).not.toContain(apiKey)

      yield* Effect.promise(() => writeFile(join(root, "fabric-identities.json"), "{"))
      const failed = yield* runBin(["--profile", root, "--json"])
      expect(failed.code).toBe(1)
      const bad = JSON.parse(failed.stdout)
      expect(bad.ok).toBe(false)
      expect(bad.checks.find((c: { readonly id: string }) => c.id === "identities")).toMatchObject({ status: "fail" })
      expect(bad.checks.find((c: { readonly id: string }) => c.id === "fabric")).toMatchObject({ status: "skip" })
      // The closing line on stderr points into the JSON, not at ✗ lines there are none of.
      expect(failed.stderr).toContain(`"status": "fail" has a "fix"`)
      expect(failed.stderr).not.toContain("✗")
    }))

  it.scopedLive("shows each agent's effective wake policy: its own entry overrides the guild-wide one", () =>
    Effect.gen(function*() {
      const { good } = yield* world
      const root = yield* makeProfile({
        ...good,
        config: {
          ...good.config,
          wake_policy: { group: "allowlist", allow_from: ["u_1", "u_2"], agents: { bot: { dm: "off", agent_loop_limit: 0 } } }
        }
      })
      const run = yield* doctor(root)
      expect(line(run, "✓", "wake policy of agent bot")).toContain("dm off, group allowlist (2 users), agents never wake it")
    }))
})

/** The built doctor as a subprocess; its output once it exits (within 30 s). */
const runBin = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const done = yield* Deferred.make<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>()
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => spawn(process.execPath, [doctorBin, ...args], { stdio: ["ignore", "pipe", "pipe"] })),
      (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
    )
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => void (stdout += chunk))
    child.stderr.on("data", (chunk) => void (stderr += chunk))
    child.on("close", (code) => Deferred.unsafeDone(done, Exit.succeed({ code, stdout, stderr })))
    return yield* Deferred.await(done).pipe(Effect.timeoutFail({ duration: Duration.seconds(30), onTimeout: () => new Error("doctor bin hung") }))
  })

/**
 * A reverse proxy in front of the sim that passes REST but drops every WebSocket upgrade, as a
 * misconfigured proxy does. Logins through it see the guild's endpoint rewritten to the proxy.
 */
const restOnlyProxy = (centerApiBase: string, guildEndpoint: string) =>
  Effect.gen(function*() {
    const center = new URL(centerApiBase).origin
    const server = Http.createServer((request, response) => {
      const toCenter = request.url!.startsWith("/api/agents/")
      const { host: _host, ...headers } = request.headers
      const upstream = Http.request(
        `${toCenter ? center : guildEndpoint}${request.url}`,
        { method: request.method!, headers },
        (reply) => {
          if (!toCenter) {
            response.writeHead(reply.statusCode!, reply.headers)
            reply.pipe(response)
            return
          }
          // The login answer names the guild's endpoint: point it at the proxy instead.
          const chunks: Array<Buffer> = []
          reply.on("data", (chunk: Buffer) => chunks.push(chunk))
          reply.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8").split(guildEndpoint).join(proxyBase())
            response.writeHead(reply.statusCode!, { "content-type": reply.headers["content-type"] ?? "application/json" })
            response.end(text)
          })
        }
      )
      upstream.on("error", () => {
        response.writeHead(502)
        response.end()
      })
      request.pipe(upstream)
    })
    server.on("upgrade", (_request, socket) => socket.destroy())
    const proxyBase = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    return proxyBase()
  })
