/**
 * `send_file`: base64 and path sources, the file roots and the profile guard (links, `..`, system
 * files), size bounds, routing like `send`.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Encoding, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { realpathSync } from "node:fs"
import type { FabricApi } from "../../src/fabric/FabricApi.js"
import { ActiveProfile, defaultConfig } from "../../src/profile/ProfileSchema.js"
import { Tools } from "../../src/tools/Tools.js"
import { bindings, call, channel, errorOf, fakeFabric, message, okOf, toolsLayer } from "./fixtures.js"
import { presenceOff } from "../presence/support.js"

const uploading = (extra: Partial<FabricApi> = {}) =>
  fakeFabric({
    uploadAttachment: (_g, name, mime, bytes) =>
      Effect.succeed({ id: "a_1", name, mime, size: bytes.length, url: "/api/attachments/a_1" }),
    postMessage: (_g, channelId, body) => Effect.succeed(message("m_5", channelId, body.content)),
    listChannels: () => Effect.succeed([channel("c_general", "general"), channel("c_dm", "dm", "dm")]),
    ...extra
  })

/**
 * A temporary directory: `files/` (the one file root) holding a report, a symlink and a hard link
 * leading out of it, a link to /dev/zero and a FIFO; `profile/` and `outside.txt` beside it.
 */
const workspace = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dir = yield* fs.makeTempDirectoryScoped()
  const profile = path.join(dir, "profile")
  const files = path.join(dir, "files")
  yield* fs.makeDirectory(profile)
  yield* fs.makeDirectory(files)
  yield* fs.writeFileString(path.join(profile, "fabric-identities.json"), "{\"secret\": true}")
  yield* fs.writeFileString(path.join(dir, "outside.txt"), "not for Fabric")
  yield* fs.writeFileString(path.join(files, "report.csv"), "a,b\n1,2\n")
  yield* fs.writeFileString(path.join(files, "data.json"), "{\"a\": 1}")
  yield* fs.symlink(path.join(profile, "fabric-identities.json"), path.join(files, "innocent.txt"))
  yield* fs.symlink(path.join(dir, "outside.txt"), path.join(files, "escape.txt"))
  yield* fs.link(path.join(dir, "outside.txt"), path.join(files, "hard.txt"))
  yield* fs.symlink("/dev/zero", path.join(files, "zero.bin"))
  execFileSync("mkfifo", [path.join(files, "pipe")])
  return { dir, profile, files, file: path.join(files, "report.csv"), link: path.join(files, "innocent.txt") }
}).pipe(Effect.provide(NodeContext.layer))

/** The tools with a profile at `root` whose config has `file_roots`. */
const withRoots = (fabric: Layer.Layer<FabricApi>, root: string, fileRoots: ReadonlyArray<string>) =>
  Tools.Default.pipe(Layer.provide(Layer.mergeAll(
    fabric,
    presenceOff,
    Layer.succeed(ActiveProfile, { root, config: { ...defaultConfig, file_roots: fileRoots }, identities: new Map(), bindings })
  )))

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

  it.scoped("refuses every path when no file_roots are configured, saying how to allow them", () =>
    Effect.gen(function*() {
      const { file, profile } = yield* workspace
      const fake = uploading()
      const result = yield* call("send_file", { channel_name: "general", path: file }).pipe(Effect.provide(toolsLayer(fake.layer, profile)))
      expect(errorOf(result)).toBe(
        "send_file by path is off: no file_roots are configured. Send the bytes as data_base64 with file_name, or ask the " +
          "operator to list the directories send_file may read in \"file_roots\" of plugins/plexum-fabric-channel/config.json"
      )
      expect(fake.callsOf("uploadAttachment")).toHaveLength(0)
    }))

  it.scoped("reads an absolute path under a file root and names the file after it by default", () =>
    Effect.gen(function*() {
      const { file, files, profile } = yield* workspace
      const fake = uploading()
      const text = yield* call("send_file", { channel_name: "general", path: file }).pipe(
        Effect.provide(withRoots(fake.layer, profile, [files]))
      )
      expect(okOf(text)).toBe("sent m_5 with report.csv (8 bytes, a_1) to #general (c_general)")
      expect(fake.callsOf("uploadAttachment")[0]!.args[2]).toBe("text/csv")
      expect(fake.callsOf("postMessage")[0]!.args[2]).toEqual({ content: "report.csv", attachment_ids: ["a_1"] })
    }))

  it.scoped("refuses files of the profile, directly or through a symlink, even when a root holds the profile", () =>
    Effect.gen(function*() {
      const { dir, link, profile } = yield* workspace
      const fake = uploading()
      const send = (path: string) =>
        call("send_file", { channel_name: "general", path }).pipe(Effect.provide(withRoots(fake.layer, profile, [dir])))
      expect(errorOf(yield* send(`${profile}/fabric-identities.json`))).toBe(
        `${profile}/fabric-identities.json is inside the Plexum profile, whose files hold credentials; send_file refuses it`
      )
      expect(errorOf(yield* send(link))).toContain("is inside the Plexum profile")
      expect(fake.callsOf("uploadAttachment")).toHaveLength(0)
    }))

  it.scoped("refuses what leaves the roots: a symlink, a hard link, `..`, /proc, a link to /dev/zero, a FIFO", () =>
    Effect.gen(function*() {
      const { dir, files, profile } = yield* workspace
      const fake = uploading()
      const send = (path: string, roots = [files]) =>
        call("send_file", { channel_name: "general", path }).pipe(Effect.provide(withRoots(fake.layer, profile, roots)))
      const real = realpathSync(dir)
      expect(errorOf(yield* send(`${files}/escape.txt`))).toBe(
        `${files}/escape.txt (really ${real}/outside.txt) is outside the file_roots send_file may read (${realpathSync(files)}); ` +
          "move the file under one of them, or send its bytes as data_base64"
      )
      expect(errorOf(yield* send(`${files}/../outside.txt`))).toContain("is outside the file_roots send_file may read")
      expect(errorOf(yield* send(`${files}/hard.txt`))).toBe(
        `${files}/hard.txt has 2 hard links; send_file reads only files with one link (a link can pull in a file from ` +
          "outside file_roots): copy the file instead of linking it"
      )
      expect(errorOf(yield* send("/proc/self/environ", ["/"]))).toBe(
        "/proc/self/environ resolves to /proc/" + process.pid + "/environ, a system file; send_file never reads /proc, /sys or /dev"
      )
      expect(errorOf(yield* send(`${files}/zero.bin`, ["/"]))).toContain("a system file; send_file never reads /proc, /sys or /dev")
      expect(errorOf(yield* send(`${files}/pipe`))).toBe(`${files}/pipe is not a regular file; give the path of a file`)
      expect(fake.callsOf("uploadAttachment")).toHaveLength(0)
    }))

  it.scoped("explains a relative, a missing and a non-file path", () =>
    Effect.gen(function*() {
      const { files, profile } = yield* workspace
      const send = (path: string) =>
        call("send_file", { channel_name: "general", path }).pipe(Effect.provide(withRoots(uploading().layer, profile, [files])))
      expect(errorOf(yield* send("report.csv"))).toBe("path report.csv is not absolute; give the absolute path of the file")
      expect(errorOf(yield* send(`${files}/nope.bin`))).toBe(
        `cannot read ${files}/nope.bin (NotFound); give the absolute path of a readable file`
      )
      expect(errorOf(yield* send(files))).toBe(`${files} is not a regular file; give the path of a file`)
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
