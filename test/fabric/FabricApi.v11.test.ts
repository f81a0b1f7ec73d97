/**
 * FabricApi v1.1 over real HTTP against the sim: the typing route (204, 403, a v1 node's 404
 * `not_found`), attachment downloads capped by the caller, and the same-origin rule.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { CenterApi } from "../../src/fabric/CenterApi.js"
import { FabricApi, onEndpoint } from "../../src/fabric/FabricApi.js"
import { ROUTE_NOT_FOUND_CODE } from "../../src/fabric/FabricContract.js"
import { SessionsLive } from "../../src/sessions/Sessions.js"
import { Sim } from "../../src/sim/Sim.js"
import { profileLayer, profileOf } from "./support.js"
import { FabricTransportLive } from "../../src/fabric/FabricTransport.js"

const fixture = Effect.gen(function*() {
  const sim = yield* Sim.start()
  const guild = yield* sim.createGuild({ name: "Acme" })
  const agent = yield* sim.createAgent({ display_name: "Scout" })
  const human = yield* sim.createUser({ display_name: "Ada" })
  for (const user of [agent, human]) yield* sim.addMember(guild.node_id, user.id)
  const general = yield* sim.createChannel(guild.node_id, { name: "general", x_type: "group", member_ids: [agent.id, human.id] })
  const secret = yield* sim.createChannel(guild.node_id, { name: "secret", x_type: "private", member_ids: [human.id] })
  const profile = profileOf({
    agents: ["scout"],
    keys: { scout: agent.api_key },
    config: { center_api_base: sim.centerApiBase, max_retries: 0 },
    bindings: [{ agentId: "scout", guildNodeId: guild.node_id, channelId: general.id }]
  })
  const context = yield* Layer.build(FabricApi.Default.pipe(
    Layer.provideMerge(SessionsLive),
    Layer.provideMerge(CenterApi.Default),
    Layer.provide(profileLayer(profile)),
    Layer.provide(FabricTransportLive)
  ))
  const api = Context.get(context, FabricApi)
  const ref = { agentId: "scout", guildNodeId: guild.node_id }
  return { sim, guild, agent, human, general, secret, api, ref }
})

describe("onEndpoint", () => {
  it("accepts the same scheme, host and port only", () => {
    const endpoint = "http://127.0.0.1:7101"
    expect(onEndpoint("http://127.0.0.1:7101/api/attachments/a_1", endpoint)?.pathname).toBe("/api/attachments/a_1")
    expect(onEndpoint("http://127.0.0.1:7102/api/attachments/a_1", endpoint)).toBeUndefined()
    expect(onEndpoint("http://localhost:7101/api/attachments/a_1", endpoint)).toBeUndefined()
    expect(onEndpoint("https://127.0.0.1:7101/api/attachments/a_1", endpoint)).toBeUndefined()
    expect(onEndpoint("http://user@127.0.0.1:7101.evil.example/x", endpoint)).toBeUndefined()
    expect(onEndpoint("not a url", endpoint)).toBeUndefined()
    expect(onEndpoint("http://example.com/a", "http://example.com:80")?.host).toBe("example.com")
  })
})

describe("FabricApi v1.1 against the sim", () => {
  it.scopedLive("startTyping: 204 and typing.started recorded; 403 outside the channel; 404 not_found on a v1 node", () =>
    Effect.gen(function*() {
      const { agent, api, general, guild, ref, secret, sim } = yield* fixture
      yield* api.startTyping(ref, general.id)
      expect((yield* sim.calls(guild.node_id)).map((c) => [c.route, c.user_id, c.channel_id, c.answered])).toEqual([
        ["startTyping", agent.id, general.id, 204]
      ])
      const forbidden = yield* Effect.flip(api.startTyping(ref, secret.id))
      expect(forbidden).toMatchObject({ reason: "forbidden", status: 403 })
      yield* sim.setTypingSupported(guild.node_id, false)
      const v1 = yield* Effect.flip(api.startTyping(ref, general.id))
      expect(v1).toMatchObject({ reason: "not_found", status: 404, code: ROUTE_NOT_FOUND_CODE })
    }))

  it.scopedLive("downloadAttachment reads at most the cap it is given, and refuses another origin", () =>
    Effect.gen(function*() {
      const { api, guild, human, ref, sim } = yield* fixture
      const token = Redacted.value((yield* sim.issueToken(guild.node_id, human.id)).token)
      const bytes = new Uint8Array(300_000).map((_, i) => i % 251)
      const uploaded = yield* Effect.promise(async () => {
        const form = new FormData()
        form.append("file", new Blob([bytes], { type: "image/png" }), "big.png")
        const response = await fetch(`${guild.endpoint}/api/attachments`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form })
        return (await response.json()) as { url: string }
      })
      const whole = yield* api.downloadAttachment(ref, uploaded.url, () => 1_000_000)
      expect(whole.complete).toBe(true)
      expect(whole.bytes).toEqual(bytes)
      expect(whole.contentType).toBe("image/png")
      const cut = yield* api.downloadAttachment(ref, uploaded.url, () => 1000)
      expect(cut.complete).toBe(false)
      expect(cut.bytes).toEqual(bytes.subarray(0, 1000))
      const none = yield* api.downloadAttachment(ref, uploaded.url, () => 0)
      expect(none).toMatchObject({ complete: false, contentLength: 300_000 })
      expect(none.bytes.byteLength).toBe(0)
      const foreign = yield* Effect.flip(api.downloadAttachment(ref, uploaded.url.replace("127.0.0.1", "localhost"), () => 1000))
      expect(foreign).toMatchObject({ reason: "bad_request", code: "foreign_url" })
    }))
})
