/**
 * v1.1 conversation features, the built plugin over real stdio against the sim: presence sync,
 * typing (and a v1 node that has no typing route), chunked `send`, `read_attachment`, and
 * offline at the graceful stop. One plugin process serves the checks in order; every wait has
 * a timeout.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Encoding, Redacted, Schedule } from "effect"
import type { RecordedCall } from "../../src/sim/CallLog.js"
import { Sim } from "../../src/sim/Sim.js"
import { binding, initializeParams, makeProfile, startPlugin } from "./harness.js"

const isInbound = (m: any) => m.method === "notifications/plexum/channel/inbound"
const inboundWith = (text: string) => (m: any) => isInbound(m) && m.params.message === text

describe("conversation features over stdio", () => {
  it.scopedLive("presence, typing, chunks, attachments, and offline at the stop", () =>
    Effect.gen(function*() {
      const sim = yield* Sim.start()
      const acme = yield* sim.createGuild({ name: "Acme" })
      const old = yield* sim.createGuild({ name: "Old" })
      yield* sim.setTypingSupported(old.node_id, false)
      const alice = yield* sim.createUser({ display_name: "Alice" })
      const scout = yield* sim.createAgent({ display_name: "Scout" })
      for (const guild of [acme, old]) for (const user of [alice, scout]) yield* sim.addMember(guild.node_id, user.id)
      const general = yield* sim.createChannel(acme.node_id, { name: "general", x_type: "group", member_ids: [alice.id, scout.id] })
      const lobby = yield* sim.createChannel(old.node_id, { name: "lobby", x_type: "group", member_ids: [alice.id, scout.id] })
      const root = yield* makeProfile({
        config: { center_api_base: sim.centerApiBase, presence_activity: "answering in Fabric" },
        agents: { scout: { apiKey: Redacted.value(scout.api_key) } },
        bindings: { "scout-main": binding("scout", acme.node_id, general.id), "scout-old": binding("scout", old.node_id, lobby.id) }
      })
      const plugin = yield* startPlugin({ profileRoot: root })
      yield* plugin.call("initialize", initializeParams)
      yield* plugin.notify("notifications/initialized")

      /** Polls the node's recorded calls until `until` holds (10 s at most). */
      const callsUntil = (guildId: string, until: (calls: ReadonlyArray<RecordedCall>) => boolean) =>
        sim.calls(guildId).pipe(
          Effect.filterOrFail(until),
          Effect.retry(Schedule.spaced("25 millis")),
          Effect.timeout("10 seconds")
        )
      const of = (route: RecordedCall["route"]) => (calls: ReadonlyArray<RecordedCall>) => calls.filter((c) => c.route === route)

      // Presence: online in each guild after the connect, with the activity.
      for (const guild of [acme, old]) {
        const calls = yield* callsUntil(guild.node_id, (calls) => of("putPresence")(calls).length > 0)
        expect(of("putPresence")(calls)[0]).toMatchObject({ user_id: scout.id, status: "online", activity: "answering in Fabric" })
      }

      // A v1 node: asked once, answers 404 not_found, one info line, never asked again.
      yield* sim.postMessage(old.node_id, lobby.id, { author_id: alice.id, content: "old one", wakeup: true })
      yield* plugin.waitFor(inboundWith("old one"))
      yield* callsUntil(old.node_id, (calls) => of("startTyping")(calls).length > 0)
      yield* plugin.waitFor((m) => m.method === "notifications/message" && String(m.params.data?.message).includes("no typing endpoint"))
      yield* sim.postMessage(old.node_id, lobby.id, { author_id: alice.id, content: "old two", wakeup: true })
      yield* plugin.waitFor(inboundWith("old two"))

      // Typing: from the notification, in that channel; listed among the fibers.
      yield* sim.postMessage(acme.node_id, general.id, { author_id: alice.id, content: "write me an essay", wakeup: true })
      yield* plugin.waitFor(inboundWith("write me an essay"))
      const typing = yield* callsUntil(acme.node_id, (calls) => of("startTyping")(calls).length > 0)
      expect(of("startTyping")(typing)[0]).toMatchObject({ user_id: scout.id, channel_id: general.id, answered: 204 })
      const typingFibers = Effect.map(plugin.call("plexum/debug/fibers", {}), (r: any) => r.fibers.filter((f: any) => f.kind === "typing"))
      expect((yield* typingFibers).map((f: any) => [f.agent_id, f.channel_id])).toEqual([["scout", general.id]])

      // Chunked send: three messages, in order, every id in the result; typing stops with the post.
      const essay = ["a", "b", "c"].map((letter) => letter.repeat(3500)).join("\n\n")
      const sent = yield* plugin.call("tools/call", { name: "send", arguments: { channel_name: "scout-main", message: essay } })
      expect(sent.isError).toBeUndefined()
      const posted = (yield* sim.messages(acme.node_id, general.id)).filter((m) => m.author_id === scout.id)
      expect(posted.map((m) => m.content)).toEqual(["a".repeat(3500), "b".repeat(3500), "c".repeat(3500)])
      expect(sent.content[0].text).toBe(`sent 3 messages ${posted.map((m) => m.id).join(", ")} to #general (${general.id})`)
      expect(yield* typingFibers).toEqual([])

      // read_attachment: listed with its schema; a text file and an image Alice posted.
      const { tools } = yield* plugin.call("tools/list", {})
      const read = tools.find((t: any) => t.name === "read_attachment")
      expect(Object.keys(read.inputSchema.properties).sort()).toEqual(["attachment_id", "channel_id", "channel_name", "session_id", "url"])
      const token = Redacted.value((yield* sim.issueToken(acme.node_id, alice.id)).token)
      const upload = (name: string, mime: string, bytes: Uint8Array) =>
        Effect.promise(async () => {
          const form = new FormData()
          form.append("file", new Blob([bytes], { type: mime }), name)
          const response = await fetch(`${acme.endpoint}/api/attachments`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form })
          return (await response.json()) as { id: string; url: string }
        })
      const notes = yield* upload("notes.txt", "text/plain", new TextEncoder().encode("the plan"))
      const pixel = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
      const image = yield* upload("pixel.png", "image/png", pixel)
      const readIt = (url: string) => plugin.call("tools/call", { name: "read_attachment", arguments: { channel_name: "scout-main", url } })
      expect((yield* readIt(notes.url)).content).toEqual([{ type: "text", text: "the plan" }])
      expect((yield* readIt(image.url)).content).toEqual([{ type: "image", data: Encoding.encodeBase64(pixel), mimeType: "image/png" }])
      const foreign = yield* readIt(notes.url.replace("127.0.0.1", "localhost"))
      expect(foreign.isError).toBe(true)
      expect(foreign.content[0].text).toContain("is not on the endpoint of guild")

      // The v1 node was asked exactly once, however many notifications followed.
      expect(of("startTyping")(yield* sim.calls(old.node_id))).toHaveLength(1)
      expect(of("startTyping")(yield* sim.calls(old.node_id))[0]!.answered).toBe(404)

      // Graceful stop: offline in both guilds, within the host's budget.
      yield* plugin.closeStdin
      expect((yield* plugin.exited("5 seconds")).code).toBe(0)
      for (const guild of [acme, old]) {
        expect(of("putPresence")(yield* sim.calls(guild.node_id)).at(-1)).toMatchObject({ user_id: scout.id, status: "offline" })
      }
    }), 60_000)
})
