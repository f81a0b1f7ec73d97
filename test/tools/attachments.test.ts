/**
 * `send_file`: base64 and path sources, the profile guard, size bounds, routing like `send`.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Encoding } from "effect"
import type { FabricApi } from "../../src/fabric/FabricApi.js"
import { call, channel, errorOf, fakeFabric, message, okOf, toolsLayer } from "./fixtures.js"

const uploading = (extra: Partial<FabricApi> = {}) =>
  fakeFabric({
    uploadAttachment: (_g, name, mime, bytes) =>
      Effect.succeed({ id: "a_1", name, mime, size: bytes.length, url: "/api/attachments/a_1" }),
    postMessage: (_g, channelId, body) => Effect.succeed(message("m_5", channelId, body.content)),
    listChannels: () => Effect.succeed([channel("c_general", "general"), channel("c_dm", "dm", "dm")]),
    ...extra
  })

/** A temporary directory holding a profile root and a file outside it. */
const workspace = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dir = yield* fs.makeTempDirectoryScoped()
  const profile = path.join(dir, "profile")
  yield* fs.makeDirectory(profile)
  yield* fs.writeFileString(path.join(profile, "fabric-identities.json"), "{\"secret\": true}")
  yield* fs.writeFileString(path.join(dir, "report.csv"), "a,b\n1,2\n")
  yield* fs.symlink(path.join(profile, "fabric-identities.json"), path.join(dir, "innocent.txt"))
  return { dir, profile, file: path.join(dir, "report.csv"), link: path.join(dir, "innocent.txt") }
}).pipe(Effect.provide(NodeContext.layer))

describe("send_file", () => {
  it.effect("uploads base64 bytes and posts them with the message, where the conversation is", () => {
    const fake = uploading()
    return Effect.gen(function*() {
      const text = okOf(yield* call("send_file", {
        channel_name: "general",
        data_base64: Encoding.encodeBase64("hello"),
        file_name: "hello.txt",
        message: "here it is",
        session_id: "s_fab_c_dm"
      }))
      expect(text).toBe("sent m_5 with hello.txt (5 bytes, a_1) to #dm (c_dm)")
      const [, name, mime, bytes] = fake.callsOf("uploadAttachment")[0]!.args
      expect([name, mime, new TextDecoder().decode(bytes as Uint8Array)]).toEqual(["hello.txt", "text/plain", "hello"])
      expect(fake.callsOf("postMessage")[0]!.args.slice(1)).toEqual(["c_dm", { content: "here it is", attachment_ids: ["a_1"] }])
    }).pipe(Effect.provide(toolsLayer(fake.layer)))
  })

  it.scoped("reads an absolute path and names the file after it by default", () =>
    Effect.gen(function*() {
      const { file, profile } = yield* workspace
      const fake = uploading()
      const text = yield* call("send_file", { channel_name: "general", path: file }).pipe(Effect.provide(toolsLayer(fake.layer, profile)))
      expect(okOf(text)).toBe("sent m_5 with report.csv (8 bytes, a_1) to #general (c_general)")
      expect(fake.callsOf("uploadAttachment")[0]!.args[2]).toBe("text/csv")
      expect(fake.callsOf("postMessage")[0]!.args[2]).toEqual({ content: "report.csv", attachment_ids: ["a_1"] })
    }))

  it.scoped("refuses files of the profile, directly or through a symlink", () =>
    Effect.gen(function*() {
      const { link, profile } = yield* workspace
      const fake = uploading()
      const send = (path: string) => call("send_file", { channel_name: "general", path }).pipe(Effect.provide(toolsLayer(fake.layer, profile)))
      expect(errorOf(yield* send(`${profile}/fabric-identities.json`))).toBe(
        `${profile}/fabric-identities.json is inside the Plexum profile, whose files hold credentials; send_file refuses it`
      )
      expect(errorOf(yield* send(link))).toContain("is inside the Plexum profile")
      expect(fake.callsOf("uploadAttachment")).toHaveLength(0)
    }))

  it.scoped("explains a relative, a missing and a non-file path", () =>
    Effect.gen(function*() {
      const { dir, profile } = yield* workspace
      const send = (path: string) =>
        call("send_file", { channel_name: "general", path }).pipe(Effect.provide(toolsLayer(uploading().layer, profile)))
      expect(errorOf(yield* send("report.csv"))).toBe("path report.csv is not absolute; give the absolute path of the file")
      expect(errorOf(yield* send(`${dir}/nope.bin`))).toBe(
        `cannot read ${dir}/nope.bin (NotFound); give the absolute path of a readable file`
      )
      expect(errorOf(yield* send(dir))).toBe(`${dir} is not a regular file; give the path of a file`)
    }))

  it.effect("needs exactly one source, a name for base64, valid base64, and at most 25 MiB", () =>
    Effect.gen(function*() {
      const send = (args: object) => call("send_file", { channel_name: "general", ...args })
      expect(errorOf(yield* send({}))).toBe("give exactly one of path and data_base64")
      expect(errorOf(yield* send({ path: "/tmp/x", data_base64: "aGk=" }))).toBe("give exactly one of path and data_base64")
      expect(errorOf(yield* send({ data_base64: "aGk=" }))).toBe(`file_name is required with data_base64 (e.g. "report.csv")`)
      expect(errorOf(yield* send({ data_base64: "!!!", file_name: "x" }))).toContain("data_base64 is not valid base64")
      expect(errorOf(yield* send({ data_base64: "A".repeat(36 * 1024 * 1024), file_name: "big.bin" }))).toBe(
        "data_base64 is 27.0 MiB; Fabric accepts files up to 25 MiB"
      )
    }).pipe(Effect.provide(toolsLayer(uploading().layer))))
})
