/**
 * The built plugin against a hostile Fabric (a node:http server in the test) that echoes every
 * secret it is sent, hangs, and throttles; and against the sim flooding junk socket events.
 * Nothing secret may appear on stdout, stderr or in the OTLP export; no tool call may hang past
 * its deadline; the host gets a bounded number of log lines.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Sim } from "../../src/sim/Sim.js"
import { toolSpan } from "../../src/telemetry/Spans.js"
import { makeOtlpReceiver } from "../telemetry/OtlpReceiver.js"
import { binding, initializeParams, makeProfile, startPlugin } from "./harness.js"

const GOOD_KEY = "fab_key_good_5e1f0a9b7c"
const BAD_KEY = "fab_key_bad_8d2c4e6a1f"
const CENTER_QUERY_SECRET = "centerq_secret_0b7e3d"
/** Guild tokens, shaped like the JWTs Fabric issues. */
const token = (guild: string) => `eyJhbGciOiJIUzI1NiJ9.eyJndWlsZCI6Ij${guild}In0.sig_${guild}_77aa`

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = ""
    request.on("data", (chunk) => (body += chunk))
    request.on("end", () => resolve(body))
  })

const json = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  response.writeHead(status, { "content-type": "application/json", ...headers })
  response.end(JSON.stringify(body))
}

/** A Fabric that logs the good agent in, refuses the bad one quoting its key, and per guild: echoes, hangs or throttles. */
const hostileFabric = Effect.acquireRelease(
  Effect.async<{ readonly base: string; readonly close: () => void }>((resume) => {
    const server = createServer((request, response) => {
      void readBody(request).then((body) => {
        const url = new URL(request.url ?? "/", "http://fabric")
        const authorization = request.headers.authorization ?? ""
        if (url.pathname.startsWith("/guild/hang")) return // never answers
        if (url.pathname.startsWith("/guild/throttle")) return json(response, 429, { error: { code: "slow_down", message: "later" } }, { "retry-after": "100000" })
        if (url.pathname.startsWith("/guild/echo")) {
          return json(response, 400, { error: { code: "echo", message: `rejected ${request.method} ${request.url} with Authorization: ${authorization}` } })
        }
        if (request.method === "POST" && body.includes("api_key")) {
          const key = (JSON.parse(body) as { api_key: string }).api_key
          if (key !== GOOD_KEY) return json(response, 400, { error: { code: "bad_key", message: `unknown api_key ${key} (query ${url.search})` } })
          const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
          const guilds = ["echo", "hang", "throttle"]
          return json(response, 200, {
            user: { id: "u_good", display_name: "Good" },
            guilds: guilds.map((g) => ({ node_id: `g_${g}`, name: g, endpoint: `${base}/guild/${g}` })),
            guild_access_tokens: guilds.map((g) => ({ guild_node_id: `g_${g}`, token: token(g), expires_at: "2099-01-01T00:00:00Z" }))
          })
        }
        json(response, 404, { error: { code: "not_found", message: `no route ${request.url}` } })
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({
        base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => {
          server.closeAllConnections()
          server.close()
        }
      })))
  }),
  (server) => Effect.sync(server.close)
)

const textOf = (result: { content: ReadonlyArray<{ text: string }> }) => result.content[0]!.text

describe("hostile Fabric", () => {
  it.scopedLive("echoed secrets reach neither stdout, stderr nor the OTLP export; hung and throttling nodes end within the deadline", () =>
    Effect.gen(function*() {
      const fabric = yield* hostileFabric
      const receiver = yield* makeOtlpReceiver()
      const root = yield* makeProfile({
        config: { center_api_base: `${fabric.base}/api?access_token=${CENTER_QUERY_SECRET}`, tool_call_timeout_seconds: 3 },
        agents: { good: { apiKey: GOOD_KEY }, bad: { apiKey: BAD_KEY } },
        bindings: {
          echo: binding("good", "g_echo", "c_echo"),
          hang: binding("good", "g_hang", "c_hang"),
          throttle: binding("good", "g_throttle", "c_throttle"),
          bad: binding("bad", "g_echo", "c_echo")
        }
      })
      const plugin = yield* startPlugin({
        profileRoot: root,
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SERVICE_NAME: "fabric-hostile" }
      })
      yield* plugin.call("initialize", initializeParams)
      yield* plugin.notify("notifications/initialized")
      const send = (channel: string) =>
        plugin.call("tools/call", { name: "send", arguments: { channel_name: channel, message: "hello" } })

      const echoed = yield* send("echo")
      expect(echoed.isError).toBe(true)
      expect(textOf(echoed)).toContain("Authorization: Bearer [redacted]")
      const refused = yield* send("bad")
      expect(refused.isError).toBe(true)
      expect(textOf(refused)).toContain("the Fabric center refused the login")
      const throttled = yield* send("throttle")
      // Answered at once (Retry-After: 100000 is past the 3 s deadline), not after 240 s of waiting.
      expect(textOf(throttled)).toBe('Fabric is rate limiting agent "good"; wait a minute, then retry')
      const hung = yield* send("hang")
      expect(textOf(hung)).toBe(
        "send did not finish within 3s (Fabric is slow or not answering); try again later. " +
          "The operator sets this bound as tool_call_timeout_seconds"
      )

      yield* plugin.closeStdin
      yield* plugin.exited("10 seconds")
      yield* receiver.waitFor((r) => r.spans.some((s) => s.name === toolSpan("send")), "3 seconds")
      const { stderr, stdout } = yield* plugin.output
      const exported = yield* receiver.rawText
      for (const secret of [GOOD_KEY, BAD_KEY, CENTER_QUERY_SECRET, token("echo"), token("hang"), token("throttle"), "eyJhbGci"]) {
        expect(stdout).not.toContain(secret)
        expect(stderr).not.toContain(secret)
        expect(exported).not.toContain(secret)
      }
      // The echoes really happened: the redactor had something to do.
      expect(stderr + stdout).toContain("[redacted]")
    }), 60_000)

  it.scopedLive("10,000 junk socket events cost the host a bounded number of log lines", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      const guild = yield* sim.createGuild({ name: "Acme" })
      const agent = yield* sim.createAgent({ display_name: "Scout" })
      const human = yield* sim.createUser({ display_name: "Ada" })
      yield* sim.addMember(guild.node_id, agent.id)
      yield* sim.addMember(guild.node_id, human.id)
      const dm = yield* sim.openDm(guild.node_id, human.id, agent.id)
      const root = yield* makeProfile({
        config: { center_api_base: sim.centerApiBase },
        agents: { scout: { apiKey: Redacted.value(agent.api_key) } },
        bindings: { "fabric-dm": binding("scout", guild.node_id, dm.id) }
      })
      const plugin = yield* startPlugin({ profileRoot: root })
      yield* plugin.call("initialize", initializeParams)
      yield* plugin.notify("notifications/initialized")
      // Connected once a message is delivered.
      yield* sim.postMessage(guild.node_id, dm.id, { author_id: human.id, content: "first" })
      yield* plugin.waitFor((m) => m.method === "notifications/plexum/channel/inbound")

      for (let i = 0; i < 10_000; i++) {
        yield* sim.emitRaw(guild.node_id, agent.id, "message.created", { junk: i, channel_id: `c_bogus_${i}` })
      }
      // Socket order: once this one is delivered, every junk event before it has been handled.
      yield* sim.postMessage(guild.node_id, dm.id, { author_id: human.id, content: "after the flood" })
      yield* plugin.waitFor((m) =>
        m.method === "notifications/plexum/channel/inbound" && JSON.stringify(m.params).includes("after the flood"))

      const logged = (yield* plugin.messages).filter((m) => m.method === "notifications/message")
      expect(logged.length).toBeLessThan(400)
      // The flood was there, and summarised rather than dropped unsaid (the summary comes at most
      // one interval later: by then the plugin has stopped, so it is looked for among what passed).
      expect(logged.length).toBeGreaterThan(5)
      const { stderr } = yield* plugin.output
      expect(stderr.split("\n").length).toBeLessThan(400)
    }), 120_000)
})
