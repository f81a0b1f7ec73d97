/**
 * `send_file`: post a message with a file, routed like `send`. The file comes either as base64
 * (small, generated content) or as an absolute path on the machine the plugin runs on (what an
 * agent that writes files can really use: a large file does not fit in a model's output).
 *
 * A path is read only when, after every link is followed, it names a regular file under one of
 * the operator's `file_roots` (none by default: path uploads are off), outside the Plexum profile
 * (the agents' Fabric API keys live there) and outside `/proc`, `/sys` and `/dev` (process
 * environments, devices). A prompt-injected agent must not be able to post a secret.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Either, Encoding, Equal, Option, Schema } from "effect"
import { FabricApi } from "../fabric/FabricApi.js"
import { ATTACHMENT_MAX_BYTES } from "../fabric/FabricContract.js"
import { readAtMost } from "../profile/BoundedRead.js"
import { ActiveProfile, CONFIG_FILE } from "../profile/ProfileSchema.js"
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

/** Never readable, whatever the roots say: process memory and environments, kernel state, devices. */
const SYSTEM_TREES = ["/proc", "/sys", "/dev"]

/** The canonical form of a path that may not exist (the profile root of a test, say). */
const canonical = (fs: FileSystem.FileSystem, path: Path.Path, file: string) =>
  fs.realPath(file).pipe(Effect.orElseSucceed(() => path.resolve(file)))

const isWithin = (path: Path.Path, dir: string, file: string) => {
  const relative = path.relative(dir, file)
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative))
}

const pathUploadsOff = fail(
  `send_file by path is off: no file_roots are configured. Send the bytes as data_base64 with file_name, or ask the ` +
    `operator to list the directories send_file may read in "file_roots" of ${CONFIG_FILE}`
)

/**
 * The real path of `file` when send_file may read it, else the reason why not. Pure: the caller
 * resolved every link (`real`, `roots`, `profileRoot` are canonical).
 */
export const fileAccess = (
  path: Path.Path,
  file: string,
  real: string,
  roots: ReadonlyArray<string>,
  profileRoot: string
): Either.Either<string, ToolFailure> => {
  if (isWithin(path, profileRoot, real)) {
    return Either.left(fail(`${file} is inside the Plexum profile, whose files hold credentials; send_file refuses it`))
  }
  if (SYSTEM_TREES.some((tree) => isWithin(path, tree, real))) {
    return Either.left(fail(`${file} resolves to ${real}, a system file; send_file never reads /proc, /sys or /dev`))
  }
  if (!roots.some((root) => isWithin(path, root, real))) {
    return Either.left(fail(
      `${file}${real === file ? "" : ` (really ${real})`} is outside the file_roots send_file may read ` +
        `(${roots.join(", ")}); move the file under one of them, or send its bytes as data_base64`
    ))
  }
  return Either.right(real)
}

const fromPath = (file: string, name: string | undefined) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const profile = yield* ActiveProfile
    if (profile.config.file_roots.length === 0) return yield* pathUploadsOff
    if (!path.isAbsolute(file)) return yield* fail(`path ${file} is not absolute; give the absolute path of the file`)
    const real = yield* fs.realPath(file).pipe(Effect.mapError(unreadable(file)))
    const roots = yield* Effect.forEach(profile.config.file_roots, (root) => canonical(fs, path, root))
    yield* fileAccess(path, file, real, roots, yield* canonical(fs, path, profile.root))
    // stat before open: opening a FIFO would block until a writer comes.
    const info = yield* fs.stat(real).pipe(Effect.mapError(unreadable(file)))
    if (info.type !== "File") return yield* fail(`${file} is not a regular file; give the path of a file`)
    return yield* Effect.scoped(Effect.gen(function*() {
      const handle = yield* fs.open(real, { flag: "r" }).pipe(Effect.mapError(unreadable(file)))
      // The checks hold for what is read: the open file itself, not whatever the path named before.
      const opened = yield* handle.stat.pipe(Effect.mapError(unreadable(file)))
      if (opened.type !== "File" || opened.dev !== info.dev || !Option.getEquivalence(Equal.equals)(opened.ino, info.ino)) {
        return yield* fail(`${file} changed while it was being opened; send it again`)
      }
      // A hard link makes a file from anywhere appear under a root; only single-link files are read.
      const links = Option.getOrElse(opened.nlink, () => 1)
      if (links > 1) {
        return yield* fail(`${file} has ${links} hard links; send_file reads only files with one link (a link can pull ` +
          `in a file from outside file_roots): copy the file instead of linking it`)
      }
      const size = Number(opened.size)
      if (size > ATTACHMENT_MAX_BYTES) return yield* tooLarge(file, size)
      const bytes = yield* readAtMost(handle, ATTACHMENT_MAX_BYTES).pipe(Effect.mapError(unreadable(file)))
      if (bytes.length > ATTACHMENT_MAX_BYTES) return yield* tooLarge(file, bytes.length)
      return { name: name ?? path.basename(file), bytes } satisfies FileToSend
    }))
  })

const mimeOf = (name: string, explicit: string | undefined) =>
  explicit ?? MIME_BY_EXTENSION[/\.[^.]+$/.exec(name.toLowerCase())?.[0] ?? ""] ?? OCTET_STREAM

export const sendFile = defineTool({
  name: "send_file",
  description: "Post a message with a file attached, routed like send (pass the session_id you answer). The file is " +
    "either `path` (absolute, on the machine the plugin runs on, under a directory the operator allowed in file_roots) or " +
    "`data_base64` with `file_name`; at most 25 MiB.",
  input: Schema.Struct({
    channel_name: Args.channelName,
    path: Args.optional(Args.Id("Absolute path of a file under the configured file_roots. Without file_roots, use data_base64.")),
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
