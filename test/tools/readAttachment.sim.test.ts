/**
 * `read_attachment` with the real FabricApi over real HTTP against the sim: the content blocks,
 * the size rules, and the same-origin rule checked against a real foreign server that must
 * receive nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Encoding, Layer, Redacted } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { CenterApi } from "../../src/fabric/CenterApi.js"
import { FabricApi } from "../../src/fabric/FabricApi.js"
import { Typing } from "../../src/presence/Typing.js"
import { ActiveProfile, defaultConfig } from "../../src/profile/ProfileSchema.js"
import { SessionsLive } from "../../src/sessions/Sessions.js"
import { Sim } from "../../src/sim/Sim.js"
import { FiberRegistry } from "../../src/telemetry/FiberRegistry.js"
import { Tools } from "../../src/tools/Tools.js"
import { errorOf, okOf } from "./fixtures.js"
import { FabricTransportLive } from "../../src/fabric/FabricTransport.js"

const MIB = 1024 * 1024

/** A guild with Ada and Alice, #general bound, and a file Ada posted there. */
const fixture = Effect.gen(function*() {
  const sim = yield* Sim.start()
  const guild = yield* sim.createGuild({ name: "Acme" })
  const ada = yield* sim.createUser({ display_name: "Ada" })
  const alice = yield* sim.createAgent({ display_name: "Alice" })
  for (const user of [ada, alice]) yield* sim.addMember(guild.node_id, user.id)
  const general = yield* sim.createChannel(guild.node_id, { name: "general", x_type: "group", member_ids: [ada.id, alice.id] })
  const profile = Layer.succeed(ActiveProfile, {
    root: "/nonexistent/plexum-profile",
    config: { ...defaultConfig, center_api_base: sim.centerApiBase, max_retries: 0 },
    identities: new Map([["alice", { agentId: "alice", apiKey: alice.api_key, enabled: true }]]),
    bindings: [{ name: "general", agentId: "alice", guildNodeId: guild.node_id, channelId: general.id, file: "channels/general.json" }]
  })
  const tools = yield* Layer.build(Tools.Default.pipe(
    Layer.provide(Typing.Default),
    Layer.provide(FiberRegistry.Default),
    Layer.provideMerge(FabricApi.Default),
    Layer.provideMerge(SessionsLive),
    Layer.provide(CenterApi.Default),
    Layer.provide(profile),
    Layer.provide(FabricTransportLive)
  ))
  const call = (args: Record<string, unknown>) =>
    Effect.flatMap(Tools, (t) => t.call("read_attachment", { channel_name: "general", ...args })).pipe(Effect.provide(tools))
  /** Ada posts a file through the guild's REST API, as a person's client would. */
  const upload = (name: string, mime: string, bytes: Uint8Array) =>
    Effect.gen(function*() {
      const token = yield* sim.issueToken(guild.node_id, ada.id)
      const form = new FormData()
      form.append("file", new Blob([bytes], { type: mime }), name)
      const response = yield* Effect.promise(() =>
        fetch(`${guild.endpoint}/api/attachments`, {
          method: "POST",
          headers: { authorization: `Bearer ${Redacted.value(token.token)}` },
          body: form
        })
      )
      return yield* Effect.promise(() => response.json() as Promise<{ id: string; url: string; mime: string; size: number }>)
    })
  /** Ada posts a message carrying the attachment, through the REST API. */
  const postWith = (attachmentId: string) =>
    Effect.gen(function*() {
      const token = yield* sim.issueToken(guild.node_id, ada.id)
      yield* Effect.promise(() =>
        fetch(`${guild.endpoint}/api/channels/${general.id}/messages`, {
          method: "POST",
          headers: { authorization: `Bearer ${Redacted.value(token.token)}`, "content-type": "application/json" },
          body: JSON.stringify({ content: "see file", author_id: ada.id, attachment_ids: [attachmentId] })
        })
      )
    })
  return { sim, guild, ada, general, call, upload, postWith }
})

describe("read_attachment against the sim", () => {
  it.scopedLive("reads text and JSON as a text block", () =>
    Effect.gen(function*() {
      const { call, upload } = yield* fixture
      const notes = yield* upload("notes.md", "text/markdown", new TextEncoder().encode("# Plan\n\n- ship it ✓\n"))
      const result = yield* call({ url: notes.url })
      expect(result.isError).toBeUndefined()
      expect(result.content).toEqual([{ type: "text", text: "# Plan\n\n- ship it ✓\n" }])
      // The sim's multipart reader takes an application/json part for a form field, so JSON goes as +json.
      const data = yield* upload("data.json", "application/ld+json", new TextEncoder().encode("{\"a\":1}"))
      expect((yield* call({ url: data.url })).content).toEqual([{ type: "text", text: "{\"a\":1}" }])
    }))

  it.scopedLive("reads an image as an MCP image block", () =>
    Effect.gen(function*() {
      const { call, upload } = yield* fixture
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])
      const shot = yield* upload("shot.png", "image/png", png)
      expect((yield* call({ url: shot.url })).content).toEqual([{ type: "image", data: Encoding.encodeBase64(png), mimeType: "image/png" }])
    }))

  it.scopedLive("describes what it does not read: another type, or over the size limit", () =>
    Effect.gen(function*() {
      const { call, postWith, upload } = yield* fixture
      const zip = yield* upload("bundle.zip", "application/zip", new Uint8Array(2048))
      yield* postWith(zip.id)
      // By url alone, the name is the url's last segment; attachment_id gives the real one.
      expect(okOf(yield* call({ url: zip.url }))).toBe(
        `${zip.id} (application/zip, 2048 bytes): not read. read_attachment returns text and JSON up to 1 MiB and images ` +
          "up to 5 MiB; anything else, or larger, is described only"
      )
      expect(okOf(yield* call({ attachment_id: zip.id }))).toMatch(/^bundle\.zip \(application\/zip, 2048 bytes\): not read\./)
      const big = yield* upload("log.txt", "text/plain", new Uint8Array(MIB + 10).fill(97))
      expect(okOf(yield* call({ url: big.url }))).toMatch(/^a_\w+ \(text\/plain, 1\.0 MiB\): not read\./)
    }))

  it.scopedLive("finds an attachment by id on a message of the session's channel", () =>
    Effect.gen(function*() {
      const { call, general, postWith, upload } = yield* fixture
      const file = yield* upload("a.txt", "text/plain", new TextEncoder().encode("hello"))
      yield* postWith(file.id)
      expect((yield* call({ attachment_id: file.id, session_id: `s_fab_${general.id}` })).content).toEqual([{ type: "text", text: "hello" }])
      expect(errorOf(yield* call({ attachment_id: "a_nope" }))).toContain("is not on the newest 100 messages")
    }))

  it.scopedLive("refuses a URL off the guild's endpoint without any request to it (another port, localhost for 127.0.0.1)", () =>
    Effect.gen(function*() {
      const { call, guild, upload } = yield* fixture
      let requests = 0
      const foreign = createServer((_, response) => {
        requests++
        response.end("stolen")
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void foreign.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => foreign.close())
      )
      const port = (foreign.address() as AddressInfo).port
      const file = yield* upload("a.txt", "text/plain", new TextEncoder().encode("hello"))
      const path = new URL(file.url).pathname
      for (const url of [`http://127.0.0.1:${port}${path}`, file.url.replace("127.0.0.1", "localhost"), file.url.replace("http:", "https:")]) {
        const line = errorOf(yield* call({ url }))
        expect(line).toContain(`is not on the endpoint of guild ${guild.node_id}`)
      }
      expect(requests).toBe(0)
      expect(errorOf(yield* call({ url: file.url, attachment_id: file.id }))).toBe("give exactly one of url and attachment_id")
    }))
})
