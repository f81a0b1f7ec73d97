import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Queue, Redacted, TestClock } from "effect"
import { CONNECT_ERROR_UNAUTHORIZED, Events, Paths } from "../../src/fabric/FabricContract.js"
import { Sim, type SimOptions } from "../../src/sim/Sim.js"
import { call, connect, handshake, nextEvent, openSocket, within } from "./SimHarness.js"

/** A guild with one agent, one human and a public channel both are in. */
const fixture = (options?: SimOptions) =>
  Effect.gen(function*() {
    const sim = yield* Sim.start(options)
    const guild = yield* sim.createGuild({ name: "Acme" })
    const agent = yield* sim.createAgent({ display_name: "Scout" })
    const human = yield* sim.createUser({ display_name: "Ada" })
    yield* sim.addMember(guild.node_id, agent.id)
    yield* sim.addMember(guild.node_id, human.id)
    const channel = yield* sim.createChannel(guild.node_id, {
      name: "general",
      x_type: "public",
      member_ids: [agent.id, human.id]
    })
    const login = yield* call("POST", `${sim.centerApiBase}${Paths.login}`, { body: { api_key: Redacted.value(agent.api_key) } })
    const token: string = login.json.guild_access_tokens[0].token
    const humanToken = (yield* sim.issueToken(guild.node_id, human.id)).token
    const url = (path: string) => `${guild.endpoint}${path}`
    return { sim, guild, agent, human, channel, token, humanToken, url, login }
  })

describe("center", () => {
  it.scopedLive("logs an agent in: its guilds, one signed token each, and counts the login", () =>
    Effect.gen(function*() {
      const { agent, guild, login, sim } = yield* fixture()
      expect(login.status).toBe(200)
      expect(login.json.user).toMatchObject({ id: agent.id, display_name: "Scout" })
      expect(login.json.guilds).toEqual([{ node_id: guild.node_id, name: "Acme", endpoint: guild.endpoint }])
      const [access] = login.json.guild_access_tokens
      expect(access.guild_node_id).toBe(guild.node_id)
      expect(access.token.split(".")).toHaveLength(3)
      const ttl = Date.parse(access.expires_at) - Date.now()
      expect(ttl).toBeGreaterThan(890_000)
      expect(ttl).toBeLessThanOrEqual(901_000)
      expect(yield* sim.loginCount(agent.id)).toBe(1)
    }))

  it.scopedLive("answers 401 with the error body on an unknown api key", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      const reply = yield* call("POST", `${sim.centerApiBase}${Paths.login}`, { body: { api_key: "nope" } })
      expect(reply.status).toBe(401)
      expect(reply.json.error.code).toBe("invalid_api_key")
    }))
})

describe("tokens", () => {
  it.scopedLive("refuses a REST call with a bad, missing, expired or foreign token", () =>
    Effect.gen(function*() {
      const { guild, human, sim, token, url } = yield* fixture()
      expect((yield* call("GET", url(Paths.channels), { token })).status).toBe(200)
      const missing = yield* call("GET", url(Paths.channels))
      expect([missing.status, missing.json.error.code]).toEqual([401, "invalid_token"])
      const forged = yield* call("GET", url(Paths.channels), { token: token.slice(0, -2) + "xx" })
      expect([forged.status, forged.json.error.code]).toEqual([401, "invalid_token"])
      const expired = yield* sim.issueToken(guild.node_id, human.id, -5)
      const late = yield* call("GET", url(Paths.channels), { token: expired.token })
      expect([late.status, late.json.error.code]).toEqual([401, "token_expired"])
      const other = yield* sim.createGuild({ name: "Other" })
      yield* sim.addMember(other.node_id, human.id)
      const foreign = yield* sim.issueToken(other.node_id, human.id)
      expect((yield* call("GET", url(Paths.channels), { token: foreign.token })).status).toBe(401)
    }))

  it.scopedLive("expires a short-lived token: the socket is dropped server-side, then REST says 401", () =>
    Effect.gen(function*() {
      const { agent, guild, sim, url } = yield* fixture({ tokenTtlSeconds: 1 })
      const login = yield* call("POST", `${sim.centerApiBase}${Paths.login}`, { body: { api_key: Redacted.value(agent.api_key) } })
      const token = Redacted.make<string>(login.json.guild_access_tokens[0].token)
      const socket = yield* connect(guild.endpoint, token)
      expect((yield* call("GET", url(Paths.channels), { token })).status).toBe(200)
      expect(yield* socket.disconnected).toBe("io server disconnect")
      const reply = yield* call("GET", url(Paths.channels), { token })
      expect([reply.status, reply.json.error.code]).toEqual([401, "token_expired"])
    }))

  it.scopedLive("refuses a socket handshake without a valid token with connect_error unauthorized", () =>
    Effect.gen(function*() {
      const { guild, human, sim } = yield* fixture()
      const expired = yield* sim.issueToken(guild.node_id, human.id, -5)
      const cases = [
        [{}, "invalid_token"],
        [{ token: "not.a.jwt" }, "invalid_token"],
        [{ token: Redacted.value(expired.token) }, "token_expired"]
      ] as const
      for (const [auth, code] of cases) {
        const outcome = yield* handshake(yield* openSocket(guild.endpoint, auth))
        expect(outcome).toEqual({ ok: false, message: CONNECT_ERROR_UNAUTHORIZED, data: { code } })
      }
      const stats = yield* sim.socketStats(guild.node_id)
      expect(stats).toEqual({ connect_attempts: 3, connections: 0, connected: 0 })
    }))
})

describe("guild REST", () => {
  it.scopedLive("pages messages oldest first with after / before / limit and has_more", () =>
    Effect.gen(function*() {
      const { channel, guild, human, sim, token, url } = yield* fixture()
      const posted = yield* Effect.forEach([1, 2, 3, 4, 5, 6, 7], (n) =>
        sim.postMessage(guild.node_id, channel.id, { author_id: human.id, content: `m${n}` }))
      const ids = posted.map((message) => message.id)
      const page = (query: string) => call("GET", url(`${Paths.messages(channel.id)}?${query}`), { token })
      const contents = (reply: { json: any }) => reply.json.messages.map((message: any) => message.content)

      const newest = yield* page("limit=3")
      expect([contents(newest), newest.json.has_more]).toEqual([["m5", "m6", "m7"], true])
      const after = yield* page(`after=${ids[0]}&limit=3`)
      expect([contents(after), after.json.has_more]).toEqual([["m2", "m3", "m4"], true])
      const tail = yield* page(`after=${ids[4]}&limit=3`)
      expect([contents(tail), tail.json.has_more]).toEqual([["m6", "m7"], false])
      const before = yield* page(`before=${ids[4]}&limit=3`)
      expect([contents(before), before.json.has_more]).toEqual([["m2", "m3", "m4"], true])
      const between = yield* page(`after=${ids[1]}&before=${ids[5]}`)
      expect([contents(between), between.json.has_more]).toEqual([["m3", "m4", "m5"], false])
      const all = yield* page("")
      expect([all.json.messages.length, all.json.has_more]).toEqual([7, false])
      expect((yield* page("limit=0")).json.error.code).toBe("invalid_limit")
      expect((yield* page("after=zzz")).status).toBe(400)
    }))

  it.scopedLive("checks content length, author and membership", () =>
    Effect.gen(function*() {
      const { agent, channel, guild, sim, token, url } = yield* fixture()
      const post = (body: unknown, as = token, channelId = channel.id) =>
        call("POST", url(Paths.messages(channelId)), { token: as, body })
      const ok = yield* post({ content: "hello", author_id: agent.id })
      expect(ok.status).toBe(201)
      expect(ok.json).toMatchObject({ content: "hello", author_id: agent.id, author_name: "Scout", wakeup: false })
      expect((yield* post({ content: "", author_id: agent.id })).json.error.code).toBe("content_empty")
      const long = yield* post({ content: "x".repeat(4001), author_id: agent.id })
      expect([long.status, long.json.error.code]).toEqual([400, "content_too_long"])
      expect((yield* post({ content: "x".repeat(4000), author_id: agent.id })).status).toBe(201)
      const mismatch = yield* post({ content: "hi", author_id: "u_someone" })
      expect([mismatch.status, mismatch.json.error.code]).toEqual([403, "author_mismatch"])

      const outsider = yield* sim.createUser({ display_name: "Eve" })
      yield* sim.addMember(guild.node_id, outsider.id)
      const secret = yield* sim.createChannel(guild.node_id, { name: "staff", x_type: "private", member_ids: [outsider.id] })
      const read = yield* call("GET", url(Paths.messages(secret.id)), { token })
      expect([read.status, read.json.error.code]).toEqual([403, "not_member"])
      expect((yield* post({ content: "hi", author_id: agent.id }, token, secret.id)).status).toBe(403)
      expect((yield* call("POST", url(Paths.joinChannel(secret.id)), { token })).status).toBe(403)
      expect((yield* call("GET", url(Paths.messages("c_nope")), { token })).status).toBe(404)

      const stranger = yield* sim.createUser({ display_name: "Mallory" })
      const other = yield* sim.createGuild({ name: "Elsewhere" })
      yield* sim.addMember(other.node_id, stranger.id)
      yield* sim.addMember(guild.node_id, stranger.id)
      const strangerToken = (yield* sim.issueToken(guild.node_id, stranger.id)).token
      expect((yield* call("GET", url(Paths.channels), { token: strangerToken })).status).toBe(200)
    }))

  it.scopedLive("computes wakeup from a mention or the flag, and recognises a registered command", () =>
    Effect.gen(function*() {
      const { agent, channel, guild, human, humanToken, sim, token, url } = yield* fixture()
      const post = (content: string, wakeup?: boolean) =>
        Effect.map(
          call("POST", url(Paths.messages(channel.id)), {
            token: humanToken,
            body: { content, author_id: human.id, wakeup }
          }),
          (reply) => reply.json
        )
      const morning = yield* post("morning all")
      expect(morning.wakeup).toBe(false)
      expect(morning.author_kind).toBe("user")
      expect((yield* post("hey @Scout, status?")).wakeup).toBe(true)
      expect((yield* post("no mention", true)).wakeup).toBe(true)
      const commands = yield* call("PUT", url(Paths.commands), {
        token,
        body: { commands: [{ name: "deploy", description: "Deploy a service" }] }
      })
      expect(commands.status).toBe(204)
      const invoked = yield* post("/deploy api  --fast")
      // v1.1: the command names its owner; it sets wakeup only when the message also addresses agents
      expect(invoked.command).toEqual({ name: "deploy", args: "api  --fast", owner_id: agent.id })
      expect(invoked.wakeup).toBe(false)
      expect((yield* post("/deploy now @Scout")).wakeup).toBe(true)
      expect((yield* post("/unknown thing")).command).toBeNull()
      expect(agent.kind).toBe("agent")
      expect(yield* sim.commandPuts(guild.node_id)).toEqual([
        { user_id: agent.id, commands: [{ name: "deploy", description: "Deploy a service" }] }
      ])
    }))

  it.scopedLive("an edit sets edited_at, computes wakeup again and emits message.updated", () =>
    Effect.gen(function*() {
      const { agent, channel, guild, human, sim, token } = yield* fixture()
      const agentSocket = yield* connect(guild.endpoint, Redacted.make(token))
      const plain = yield* sim.postMessage(guild.node_id, channel.id, { author_id: human.id, content: "can someone look?" })
      expect(plain.edited_at).toBeUndefined()
      yield* nextEvent(agentSocket, Events.messageCreated)
      const mentioned = yield* sim.editMessage(guild.node_id, channel.id, plain.id, "can someone look? @Scout")
      expect(mentioned).toMatchObject({ id: plain.id, wakeup: true, author_kind: "user" })
      expect(Number.isNaN(Date.parse(mentioned.edited_at!))).toBe(false)
      expect(yield* nextEvent(agentSocket, Events.messageUpdated)).toEqual(mentioned)
      expect((yield* sim.editMessage(guild.node_id, channel.id, plain.id, "never mind")).wakeup).toBe(false)
      // a wakeup the POST asked for survives an edit
      const flagged = yield* sim.postMessage(guild.node_id, channel.id, { author_id: human.id, content: "ping", wakeup: true })
      expect((yield* sim.editMessage(guild.node_id, channel.id, flagged.id, "pong")).wakeup).toBe(true)
      expect((yield* sim.messages(guild.node_id, channel.id)).find((m) => m.id === plain.id)?.content).toBe("never mind")
      expect(agent.kind).toBe("agent")
    }))

  it.scopedLive("opens a DM idempotently and tells both users with channel.joined", () =>
    Effect.gen(function*() {
      const { agent, guild, human, humanToken, token, url } = yield* fixture()
      const agentSocket = yield* connect(guild.endpoint, Redacted.make(token))
      const humanSocket = yield* connect(guild.endpoint, humanToken)
      const first = yield* call("POST", url(Paths.dms), { token: humanToken, body: { user_id: agent.id } })
      expect(first.status).toBe(200)
      expect(first.json.x_type).toBe("dm")
      expect([...first.json.member_ids].sort()).toEqual([agent.id, human.id].sort())
      expect((yield* nextEvent(agentSocket, Events.channelJoined)).id).toBe(first.json.id)
      expect((yield* nextEvent(humanSocket, Events.channelJoined)).id).toBe(first.json.id)
      const again = yield* call("POST", url(Paths.dms), { token, body: { user_id: human.id } })
      expect(again.json.id).toBe(first.json.id)
    }))

  it.scopedLive("refuses a stale canvas write with 409 and the current canvas", () =>
    Effect.gen(function*() {
      const { agent, channel, token, url } = yield* fixture()
      const initial = yield* call("GET", url(Paths.canvas(channel.id)), { token })
      expect(initial.json).toMatchObject({ channel_id: channel.id, content: "", version: 0 })
      const write = (content: string, base_version: number) =>
        call("PUT", url(Paths.canvas(channel.id)), { token, body: { content, base_version } })
      const first = yield* write("# Plan", 0)
      expect(first.json).toMatchObject({ content: "# Plan", version: 1, updated_by: agent.id })
      const stale = yield* write("# Other", 0)
      expect(stale.status).toBe(409)
      expect(stale.json.error.code).toBe("version_conflict")
      expect(stale.json.error.current).toMatchObject({ content: "# Plan", version: 1 })
    }))

  it.scopedLive("creates a sub-discussion with its own channel, announces it, lists and closes it", () =>
    Effect.gen(function*() {
      const { channel, guild, human, humanToken, token, url } = yield* fixture()
      const humanSocket = yield* connect(guild.endpoint, humanToken)
      const created = yield* call("POST", url(Paths.subDiscussions(channel.id)), {
        token,
        body: { title: "Release plan", participant_ids: [human.id] }
      })
      expect(created.status).toBe(201)
      expect(created.json).toMatchObject({ parent_channel_id: channel.id, title: "Release plan", status: "open" })
      const joined = yield* nextEvent(humanSocket, Events.channelJoined)
      expect(joined).toMatchObject({ id: created.json.channel_id, x_type: "sub_discussion" })
      const listed = yield* call("GET", url(Paths.subDiscussions(channel.id)), { token })
      expect(listed.json.sub_discussions.map((sub: any) => sub.id)).toEqual([created.json.id])
      const channels = yield* call("GET", url(Paths.channels), { token: humanToken })
      expect(channels.json.channels.map((c: any) => c.id)).toContain(created.json.channel_id)
      const closed = yield* call("POST", url(Paths.closeSubDiscussion(created.json.id)), {
        token,
        body: { summary: "ship friday" }
      })
      expect(closed.json).toMatchObject({ status: "closed", summary: "ship friday" })
    }))

  it.scopedLive("uploads an attachment and serves its bytes only with a Bearer token", () =>
    Effect.gen(function*() {
      const { token, url } = yield* fixture()
      const form = new FormData()
      form.append("file", new Blob([new TextEncoder().encode("hello bytes")], { type: "text/plain" }), "note.txt")
      const uploaded = yield* Effect.promise(async () => {
        const response = await fetch(url(Paths.attachments), {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          body: form
        })
        return { status: response.status, json: await response.json() as any }
      })
      expect(uploaded.status).toBe(201)
      expect(uploaded.json).toMatchObject({ name: "note.txt", mime: "text/plain", size: 11 })
      const bytes = yield* Effect.promise(async () => {
        const response = await fetch(uploaded.json.url, { headers: { authorization: `Bearer ${token}` } })
        return response.text()
      })
      expect(bytes).toBe("hello bytes")
      expect((yield* call("GET", uploaded.json.url)).status).toBe(401)
    }))

  it.scopedLive("delivers message.created to every member, the author included, and presence to the guild", () =>
    Effect.gen(function*() {
      const { agent, channel, guild, human, humanToken, sim, token, url } = yield* fixture()
      const agentSocket = yield* connect(guild.endpoint, Redacted.make(token))
      const humanSocket = yield* connect(guild.endpoint, humanToken)
      const posted = yield* call("POST", url(Paths.messages(channel.id)), {
        token,
        body: { content: "ping", author_id: agent.id }
      })
      expect(yield* nextEvent(agentSocket, Events.messageCreated)).toEqual(posted.json)
      expect(yield* nextEvent(humanSocket, Events.messageCreated)).toEqual(posted.json)
      yield* call("PUT", url(Paths.presence), { token: humanToken, body: { status: "idle" } })
      expect(yield* nextEvent(agentSocket, Events.presenceUpdated)).toEqual({ user_id: human.id, status: "idle" })
      // The same status again changes nothing, so nothing is sent: the next event is the change.
      yield* call("PUT", url(Paths.presence), { token: humanToken, body: { status: "idle" } })
      yield* call("PUT", url(Paths.presence), { token: humanToken, body: { status: "online" } })
      expect(yield* nextEvent(agentSocket, Events.presenceUpdated)).toEqual({ user_id: human.id, status: "online" })
      const edited = yield* sim.editMessage(guild.node_id, channel.id, posted.json.id, "pong")
      expect(yield* nextEvent(agentSocket, Events.messageUpdated)).toEqual(edited)
      expect(posted.json.author_kind).toBe("agent")
      yield* call("POST", url(Paths.leaveChannel(channel.id)), { token })
      expect(yield* nextEvent(agentSocket, Events.channelLeft)).toEqual({ channel_id: channel.id })
    }))
})

describe("controls", () => {
  it.scopedLive("drops a user's sockets and emits raw events", () =>
    Effect.gen(function*() {
      const { agent, guild, humanToken, sim, token } = yield* fixture()
      const agentSocket = yield* connect(guild.endpoint, Redacted.make(token))
      const humanSocket = yield* connect(guild.endpoint, humanToken)
      yield* sim.emitRaw(guild.node_id, agent.id, Events.messageCreated, { nonsense: true })
      expect(yield* nextEvent(agentSocket, Events.messageCreated)).toEqual({ nonsense: true })
      expect((yield* sim.sockets(guild.node_id)).map((s) => s.user_id)).toContain(agent.id)
      expect(yield* sim.dropSockets(guild.node_id, agent.id)).toBe(1)
      expect(yield* agentSocket.disconnected).toBe("io server disconnect")
      expect(humanSocket.socket.connected).toBe(true)
      expect(yield* sim.dropSockets(guild.node_id)).toBe(1)
      expect(yield* humanSocket.disconnected).toBe("io server disconnect")
    }))

  it.scopedLive("restarts a guild node on the same port with its state kept", () =>
    Effect.gen(function*() {
      const { agent, channel, guild, sim, token, url } = yield* fixture()
      const before = yield* connect(guild.endpoint, Redacted.make(token))
      const posted = yield* sim.postMessage(guild.node_id, channel.id, { author_id: agent.id, content: "kept" })
      yield* sim.restartGuild(guild.node_id)
      expect(yield* before.disconnected).not.toBe("io client disconnect")
      const after = yield* connect(guild.endpoint, Redacted.make(token))
      const history = yield* call("GET", url(Paths.messages(channel.id)), { token })
      expect(history.json.messages.map((m: any) => m.id)).toEqual([posted.id])
      yield* sim.postMessage(guild.node_id, channel.id, { author_id: agent.id, content: "fresh" })
      expect((yield* nextEvent(after, Events.messageCreated)).content).toBe("fresh")
      expect((yield* sim.socketStats(guild.node_id)).connections).toBe(2)
    }))

  it.scopedLive("suppresses events to a user until resumed, while messages are still stored", () =>
    Effect.gen(function*() {
      const { agent, channel, guild, human, sim, token, url } = yield* fixture()
      const socket = yield* connect(guild.endpoint, Redacted.make(token))
      yield* sim.suppress(agent.id)
      const lost = yield* sim.postMessage(guild.node_id, channel.id, { author_id: human.id, content: "lost" })
      yield* sim.resume(agent.id)
      yield* sim.postMessage(guild.node_id, channel.id, { author_id: human.id, content: "seen" })
      expect((yield* nextEvent(socket, Events.messageCreated)).content).toBe("seen")
      const catchUp = yield* call("GET", url(Paths.messages(channel.id)), { token })
      expect(catchUp.json.messages[0].id).toBe(lost.id)
    }))

  it.scopedLive("fails the next calls of a route as planned, with Retry-After on 429", () =>
    Effect.gen(function*() {
      const { agent, guild, sim, token, url } = yield* fixture()
      yield* sim.failNext({ scope: guild.node_id, route: "listChannels", status: 429, count: 2, retry_after_seconds: 3 })
      const first = yield* call("GET", url(Paths.channels), { token })
      expect([first.status, first.headers.get("retry-after"), first.json.error.code]).toEqual([429, "3", "rate_limited"])
      expect((yield* call("GET", url(Paths.channels), { token })).status).toBe(429)
      expect((yield* call("GET", url(Paths.channels), { token })).status).toBe(200)
      yield* sim.failNext({ scope: "center", route: "login", status: 500 })
      const login = (apiKey: string) => call("POST", `${sim.centerApiBase}${Paths.login}`, { body: { api_key: apiKey } })
      expect((yield* login(Redacted.value(agent.api_key))).status).toBe(500)
      expect((yield* login(Redacted.value(agent.api_key))).status).toBe(200)
    }))

  it.scoped("paces a burst at per_second on the clock", () =>
    Effect.gen(function*() {
      const { channel, guild, human, sim } = yield* fixture()
      const burst = yield* Effect.fork(
        sim.postBurst(guild.node_id, channel.id, { author_id: human.id, content: "load", count: 300, per_second: 100 })
      )
      yield* TestClock.adjust("2 seconds")
      const early = yield* sim.messages(guild.node_id, channel.id)
      // one post at t=0, then one every 10 ms: 201 by t=2s
      expect(early.length).toBe(201)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(burst)).toBe(300)
      expect((yield* sim.messages(guild.node_id, channel.id)).at(-1)?.content).toBe("load #300")
    }))

  it.scopedLive("sends a flat-out burst as it posts it, not all at once after the last post", () =>
    Effect.gen(function*() {
      const { channel, guild, human, sim, token } = yield* fixture()
      const socket = yield* connect(guild.endpoint, Redacted.make(token))
      const count = 2_000
      yield* sim.postBurst(guild.node_id, channel.id, { author_id: human.id, content: "flood", count })
      // Posted in one turn, the burst reached the socket only after its last post: by then the
      // client had read none of it.
      const readDuringBurst = yield* Queue.size(socket.events)
      expect(readDuringBurst).toBeGreaterThan(count / 4)
      for (let n = 1; n <= count; n++) expect((yield* nextEvent(socket, Events.messageCreated)).content).toBe(`flood #${n}`)
    }))

  it.scopedLive("is driven over HTTP: seed, post, sockets, login count", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      const seeded = yield* call("POST", `${sim.controlBase}/seed`, {
        body: {
          users: [
            { key: "ada", display_name: "Ada", kind: "user" },
            { key: "bot", display_name: "Bot", kind: "agent", api_key: "sim_test_key" }
          ],
          guilds: [{
            key: "acme",
            name: "Acme",
            members: ["ada", "bot"],
            channels: [{ key: "general", name: "general", x_type: "public", members: ["ada", "bot"] }]
          }]
        }
      })
      expect(seeded.status).toBe(200)
      expect(seeded.json.center_api_base).toBe(sim.centerApiBase)
      expect(seeded.json.users.bot.api_key).toBe("sim_test_key")
      const guild = seeded.json.guilds.acme
      const login = yield* call("POST", `${sim.centerApiBase}${Paths.login}`, { body: { api_key: "sim_test_key" } })
      const socket = yield* connect(guild.endpoint, Redacted.make(login.json.guild_access_tokens[0].token))
      const posted = yield* call("POST", `${sim.controlBase}/guilds/${guild.node_id}/channels/${guild.channels.general}/messages`, {
        body: { author_id: seeded.json.users.ada.id, content: "over http @Bot" }
      })
      expect(posted.json.wakeup).toBe(true)
      expect((yield* nextEvent(socket, Events.messageCreated)).id).toBe(posted.json.id)
      const sockets = yield* call("GET", `${sim.controlBase}/guilds/${guild.node_id}/sockets`)
      expect(sockets.json.stats).toEqual({ connect_attempts: 1, connections: 1, connected: 1 })
      const logins = yield* call("GET", `${sim.controlBase}/logins/${seeded.json.users.bot.id}`)
      expect(logins.json.count).toBe(1)
      const status = { name: "status", description: "Report status" }
      yield* call("PUT", `${guild.endpoint}${Paths.commands}`, {
        token: login.json.guild_access_tokens[0].token,
        body: { commands: [status] }
      })
      const puts = yield* call("GET", `${sim.controlBase}/guilds/${guild.node_id}/commands`)
      expect(puts.json).toEqual({ puts: [{ user_id: seeded.json.users.bot.id, commands: [status] }] })
      const edited = yield* call("POST", `${sim.controlBase}/guilds/${guild.node_id}/channels/${guild.channels.general}/messages/${posted.json.id}/edit`, {
        body: { content: "over http, no mention" }
      })
      expect(edited.json).toMatchObject({ id: posted.json.id, wakeup: false, author_kind: "user" })
      expect(typeof edited.json.edited_at).toBe("string")
      const bad = yield* call("POST", `${sim.controlBase}/fail`, { body: { scope: "center", route: "nope", status: 500 } })
      expect(bad.status).toBe(400)
      yield* within(Effect.void)
    }))
})
