/**
 * The REST client over real HTTP against the sim: a real center and guild node on loopback.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Metric, Redacted } from "effect"
import { createServer } from "node:net"
import { CenterApi } from "../../src/fabric/CenterApi.js"
import { FabricApi } from "../../src/fabric/FabricApi.js"
import { RouteTemplates } from "../../src/fabric/FabricContract.js"
import { RequestPolicy, requestPolicy } from "../../src/fabric/FabricHttp.js"
import type { LoadedProfile } from "../../src/profile/ProfileSchema.js"
import { SessionsLive } from "../../src/sessions/Sessions.js"
import { Sim } from "../../src/sim/Sim.js"
import { restCalls } from "../../src/telemetry/Metrics.js"
import { profileLayer, profileOf } from "./support.js"
import { FabricTransportLive } from "../../src/fabric/FabricTransport.js"

const AGENT = "scout"

/** The plugin's client stack over real HTTP, for one profile. */
const clientLayer = (profile: LoadedProfile) =>
  FabricApi.Default.pipe(
    Layer.provideMerge(SessionsLive),
    Layer.provideMerge(CenterApi.Default),
    Layer.provide(profileLayer(profile)),
    Layer.provide(FabricTransportLive)
  )

/** A sim with one guild, the agent, a human, a public and a private channel. */
const fixture = Effect.gen(function*() {
  const sim = yield* Sim.start()
  const guild = yield* sim.createGuild({ name: "Acme" })
  const agent = yield* sim.createAgent({ display_name: "Scout" })
  const human = yield* sim.createUser({ display_name: "Ada" })
  yield* sim.addMember(guild.node_id, agent.id)
  yield* sim.addMember(guild.node_id, human.id)
  const general = yield* sim.createChannel(guild.node_id, { name: "general", x_type: "public", member_ids: [agent.id, human.id] })
  const secret = yield* sim.createChannel(guild.node_id, { name: "secret", x_type: "private", member_ids: [human.id] })
  const profile = profileOf({
    agents: [AGENT],
    keys: { [AGENT]: agent.api_key },
    config: { center_api_base: sim.centerApiBase, max_retries: 2 },
    bindings: [{ agentId: AGENT, guildNodeId: guild.node_id, channelId: general.id }]
  })
  const ref = { agentId: AGENT, guildNodeId: guild.node_id }
  const context = yield* Layer.build(clientLayer(profile))
  const api = Context.get(context, FabricApi)
  const center = Context.get(context, CenterApi)
  return { sim, guild, agent, human, general, secret, profile, ref, api, center }
})

const calls = (route: keyof typeof RouteTemplates, status: string) =>
  Metric.value(Metric.tagged(Metric.tagged(restCalls, "route", RouteTemplates[route]), "status", status)).pipe(
    Effect.map((state) => state.count)
  )

describe("CenterApi over HTTP", () => {
  it.scopedLive("logs an agent in: its user, guilds and a token per guild", () =>
    Effect.gen(function*() {
      const { agent, center, guild, sim } = yield* fixture
      const session = yield* center.login(sim.centerApiBase, agent.api_key)
      expect(session.user.id).toBe(agent.id)
      expect(session.guilds.map((g) => g.endpoint)).toEqual([guild.endpoint])
      expect(session.guild_access_tokens[0]!.guild_node_id).toBe(guild.node_id)
      expect(Redacted.isRedacted(session.guild_access_tokens[0]!.token)).toBe(true)
    }))

  it.scopedLive("a wrong key is `unauthorized`, tried once, with the register command and never the key", () =>
    Effect.gen(function*() {
      const { center, sim } = yield* fixture
      const before = yield* calls("login", "401")
      const error = yield* Effect.flip(center.login(sim.centerApiBase, Redacted.make("wrong-key-123")))
      expect(error.reason).toBe("unauthorized")
      expect(error.code).toBe("invalid_api_key")
      expect(error.message).toContain("plexum-fabric-register")
      expect(error.message).not.toContain("wrong-key-123")
      expect((yield* calls("login", "401")) - before).toBe(1)
    }))

  it.scopedLive("a refused connection is `unavailable` after the retries, naming the route and what to do", () =>
    Effect.gen(function*() {
      const { center } = yield* fixture
      const port = yield* closedPort
      const error = yield* Effect.flip(center.login(`http://127.0.0.1:${port}/api`, Redacted.make("k"))).pipe(
        Effect.provideService(RequestPolicy, requestPolicy({ request_timeout_seconds: 5, max_retries: 1 }))
      )
      expect(error.reason).toBe("unavailable")
      expect(error.message).toContain("POST /agents/login")
      expect(error.message).toContain("no connection, 2 attempt(s)")
      expect(error.message).toContain("check that Fabric is running")
    }).pipe(Effect.timeout("20 seconds")))
})

describe("FabricApi over HTTP", () => {
  it.scopedLive("posts as the agent (author_id from the session) and reads the history back", () =>
    Effect.gen(function*() {
      const { agent, api, general, ref } = yield* fixture
      const posted = yield* api.postMessage(ref, general.id, { content: "hello from the plugin" })
      expect(posted).toMatchObject({ author_id: agent.id, channel_id: general.id, content: "hello from the plugin" })
      const page = yield* api.listMessages(ref, general.id, { limit: 10 })
      expect(page.messages.map((m) => m.id)).toEqual([posted.id])
      expect(yield* api.putPresence(ref, "online", "testing")).toBeUndefined()
      const channels = yield* api.listChannels(ref)
      expect(channels.map((c) => c.id)).toContain(general.id)
    }))

  it.scopedLive("uploads an attachment as multipart", () =>
    Effect.gen(function*() {
      const { api, ref } = yield* fixture
      const bytes = new TextEncoder().encode("a small file")
      const attachment = yield* api.uploadAttachment(ref, "notes.txt", "text/plain", bytes)
      expect(attachment).toMatchObject({ name: "notes.txt", mime: "text/plain", size: bytes.byteLength })
    }))

  it.scopedLive("refuses a file over 25 MiB before sending, and reports Fabric's 413 as `too_large`", () =>
    Effect.gen(function*() {
      const { api, guild, ref, sim } = yield* fixture
      const local = yield* Effect.flip(api.uploadAttachment(ref, "big.bin", "application/octet-stream", new Uint8Array(25 * 1024 * 1024 + 1)))
      expect(local).toMatchObject({ reason: "too_large", route: "POST /api/attachments" })
      expect(local.message).toContain("big.bin")
      yield* sim.failNext({ scope: guild.node_id, route: "uploadAttachment", status: 413, code: "payload_too_large" })
      const remote = yield* Effect.flip(api.uploadAttachment(ref, "small.txt", "text/plain", new Uint8Array(3)))
      expect(remote).toMatchObject({ reason: "too_large", status: 413, code: "payload_too_large" })
    }))

  it.scopedLive("a guild 401 drops the session, logs in again and retries the call once", () =>
    Effect.gen(function*() {
      const { agent, api, guild, ref, sim } = yield* fixture
      yield* api.listChannels(ref)
      yield* sim.failNext({ scope: guild.node_id, route: "listChannels", status: 401, code: "token_expired" })
      const channels = yield* api.listChannels(ref)
      expect(channels.length).toBeGreaterThan(0)
      expect(yield* sim.loginCount(agent.id)).toBe(2)
    }))

  it.scopedLive("a 401 on the fresh token too is reported, not retried again", () =>
    Effect.gen(function*() {
      const { agent, api, guild, ref, sim } = yield* fixture
      yield* sim.failNext({ scope: guild.node_id, route: "listChannels", status: 401, count: 3, code: "invalid_token" })
      const error = yield* Effect.flip(api.listChannels(ref))
      expect(error).toMatchObject({ _tag: "FabricError", reason: "unauthorized", code: "invalid_token" })
      expect(error.message).toContain("signing key")
      expect(yield* sim.loginCount(agent.id)).toBe(2)
    }))

  it.scopedLive("concurrent calls refused with one token cause one new login", () =>
    Effect.gen(function*() {
      const { agent, api, guild, ref, sim } = yield* fixture
      yield* api.listChannels(ref)
      yield* sim.failNext({ scope: guild.node_id, route: "listChannels", status: 401, count: 4 })
      yield* Effect.all(Array.from({ length: 4 }, () => api.listChannels(ref)), { concurrency: "unbounded" })
      expect(yield* sim.loginCount(agent.id)).toBe(2)
    }))

  it.scopedLive("reports Fabric's error bodies: 404, 403, and 409 with the current canvas", () =>
    Effect.gen(function*() {
      const { api, general, ref, secret } = yield* fixture
      const missing = yield* Effect.flip(api.getChannel(ref, "c_nope"))
      expect(missing).toMatchObject({ reason: "not_found", status: 404, route: "GET /api/channels/{id}" })
      const forbidden = yield* Effect.flip(api.joinChannel(ref, secret.id))
      expect(forbidden).toMatchObject({ reason: "forbidden", status: 403 })
      const canvas = yield* api.getCanvas(ref, general.id)
      yield* api.putCanvas(ref, general.id, "first", canvas.version)
      const stale = yield* Effect.flip(api.putCanvas(ref, general.id, "second", canvas.version))
      expect(stale).toMatchObject({ reason: "conflict", code: "version_conflict", current: { version: canvas.version + 1, content: "first" } })
      expect(stale.message).toContain(`it is at version ${canvas.version + 1}`)
    }))

  it.scopedLive("checks content length before sending", () =>
    Effect.gen(function*() {
      const { api, general, guild, ref, sim } = yield* fixture
      const tooLong = yield* Effect.flip(api.postMessage(ref, general.id, { content: "x".repeat(4001) }))
      expect(tooLong).toMatchObject({ reason: "bad_request", code: "content_too_long" })
      expect(tooLong.message).toContain("4001")
      const empty = yield* Effect.flip(api.postMessage(ref, general.id, { content: "" }))
      expect(empty).toMatchObject({ reason: "bad_request", code: "content_empty" })
      expect(yield* sim.messages(guild.node_id, general.id)).toHaveLength(0)
    }))

  it.scopedLive("retries a 503 and posts the message exactly once", () =>
    Effect.gen(function*() {
      const { api, general, guild, ref, sim } = yield* fixture
      yield* sim.failNext({ scope: guild.node_id, route: "postMessage", status: 503 })
      yield* api.postMessage(ref, general.id, { content: "after a hiccup" })
      expect((yield* sim.messages(guild.node_id, general.id)).map((m) => m.content)).toEqual(["after a hiccup"])
    }))

  it.scopedLive("a call for a guild the agent is not in is `no_guild_access`", () =>
    Effect.gen(function*() {
      const { api } = yield* fixture
      const error = yield* Effect.flip(api.listChannels({ agentId: AGENT, guildNodeId: "g_elsewhere" }))
      expect(error).toMatchObject({ _tag: "SessionError", reason: "no_guild_access" })
    }))
})

/** A loopback port nothing listens on: bound, then released. */
const closedPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})
