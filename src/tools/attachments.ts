/**
 * `send_file`: post a message with a file, routed like `send`. The file comes either as base64
 * (small, generated content) or as an absolute path on the machine the plugin runs on (what an
 * agent that writes files can really use: a large file does not fit in a model's output).
 *
 * A path may point anywhere the plugin can read, except inside the Plexum profile: that is where
 * the agents' Fabric API keys live, and a tool must never be a way to post them.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Either, Encoding, Schema } from "effect"
import { FabricApi } from "../fabric/FabricApi.js"
import { ATTACHMENT_MAX_BYTES } from "../fabric/FabricContract.js"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import * as Args from "./Args.js"
import { orExplain } from "./FabricFailure.js"
import { describeIds, LongMessage, postInChunks } from "./send.js"
import { about, channelLabel, replyTarget } from "./Target.js"
import { defineTool, fail, type ToolFailure } from "./Tool.js"

const MIB = 1024 * 1024

/** The common types by extension; anything else is sent as bytes. */
const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".svg": "image/svg+xml",
  ".pdf": "application/pdf",
  ".txt": "text/plain",
  ".md": "text/markdown",
  ".csv": "text/csv",
  ".json": "application/json",
  ".html": "text/html",
  ".zip": "application/zip"
}
const OCTET_STREAM = "application/octet-stream"

interface FileToSend {
  readonly name: string
  readonly bytes: Uint8Array
}

const tooLarge = (what: string, size: number) =>
  fail(`${what} is ${(size / MIB).toFixed(1)} MiB; Fabric accepts files up to ${ATTACHMENT_MAX_BYTES / MIB} MiB`)

const fromBase64 = (data: string, name: string | undefined): Either.Either<FileToSend, ToolFailure> => {
  if (name === undefined) return Either.left(fail("file_name is required with data_base64 (e.g. \"report.csv\")"))
  // Checked before decoding, so an oversized argument is not decoded for nothing.
  if (data.length > Math.ceil(ATTACHMENT_MAX_BYTES / 3) * 4) return Either.left(tooLarge("data_base64", (data.length / 4) * 3))
  return Either.match(Encoding.decodeBase64(data), {
    onLeft: () => Either.left(fail("data_base64 is not valid base64; encode the file's bytes with standard base64")),
    onRight: (bytes) =>
      bytes.length > ATTACHMENT_MAX_BYTES ? Either.left(tooLarge("the file", bytes.length)) : Either.right({ name, bytes })
  })
}

const unreadable = (file: string) => (error: PlatformError) =>
  fail(`cannot read ${file} (${error._tag === "SystemError" ? error.reason : "invalid path"}); give the absolute path of a readable file`)

/** The canonical form of a path that may not exist (the profile root of a test, say). */
const canonical = (fs: FileSystem.FileSystem, path: Path.Path, file: string) =>
  fs.realPath(file).pipe(Effect.orElseSucceed(() => path.resolve(file)))

const fromPath = (file: string, name: string | undefined) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const profile = yield* ActiveProfile
    if (!path.isAbsolute(file)) return yield* fail(`path ${file} is not absolute; give the absolute path of the file`)
    const real = yield* fs.realPath(file).pipe(Effect.mapError(unreadable(file)))
    const inProfile = path.relative(yield* canonical(fs, path, profile.root), real)
    if (!inProfile.startsWith("..") && !path.isAbsolute(inProfile)) {
      return yield* fail(`${file} is inside the Plexum profile, whose files hold credentials; send_file refuses it`)
    }
    const info = yield* fs.stat(real).pipe(Effect.mapError(unreadable(file)))
    if (info.type !== "File") return yield* fail(`${file} is not a regular file; give the path of a file`)
    if (Number(info.size) > ATTACHMENT_MAX_BYTES) return yield* tooLarge(file, Number(info.size))
    const bytes = yield* fs.readFile(real).pipe(Effect.mapError(unreadable(file)))
    return { name: name ?? path.basename(file), bytes } satisfies FileToSend
  })

const mimeOf = (name: string, explicit: string | undefined) =>
  explicit ?? MIME_BY_EXTENSION[/\.[^.]+$/.exec(name.toLowerCase())?.[0] ?? ""] ?? OCTET_STREAM

export const sendFile = defineTool({
  name: "send_file",
  description: "Post a message with a file attached, routed like send (pass the session_id you answer). The file is " +
    "either `path` (absolute, on the machine the plugin runs on) or `data_base64` with `file_name`; at most 25 MiB.",
  input: Schema.Struct({
    channel_name: Args.channelName,
    path: Args.optional(Args.Id("Absolute path of the file to send. Files inside the Plexum profile are refused.")),
    data_base64: Args.optional(Schema.String.annotations({ description: "The file's bytes, base64. Needs file_name." })),
    file_name: Args.optional(Args.Id("The name Fabric shows. Default with path: the file's own name.")),
    mime: Args.optional(Args.Id("The MIME type. Default: guessed from the name, else application/octet-stream.")),
    message: Args.optional(LongMessage.annotations({
      description: "Text to go with the file. Default: the file name. Over 4000 characters it continues in further messages."
    })),
    session_id: Args.replySessionId,
    reply_to: Args.replyTo,
    wakeup: Args.wakeup
  }),
  run: (input) =>
    Effect.gen(function*() {
      const target = yield* replyTarget(input.channel_name, input.session_id)
      if ((input.path === undefined) === (input.data_base64 === undefined)) {
        return yield* fail("give exactly one of path and data_base64")
      }
      const file = input.path !== undefined
        ? yield* fromPath(input.path, input.file_name)
        : yield* fromBase64(input.data_base64!, input.file_name)
      const fabric = yield* FabricApi
      const attachment = yield* fabric.uploadAttachment(target.guild, file.name, mimeOf(file.name, input.mime), file.bytes)
        .pipe(orExplain(about(target)))
      const ids = yield* postInChunks(target, input.message ?? file.name, { ...input, attachment_ids: [attachment.id] }, about(target))
      return `sent ${describeIds(ids)} with ${attachment.name} (${attachment.size} bytes, ${attachment.id}) to ` +
        (yield* channelLabel(target.guild, target.channelId))
    })
})

export const attachmentTools = [sendFile] as const
