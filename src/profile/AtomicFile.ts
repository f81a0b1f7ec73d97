/**
 * Writing a profile file so that a reader (the running plugin, a crash, a second command)
 * sees either the old content or the new one, never half of it: the content goes to a
 * temporary file in the same directory, is flushed to disk, then renamed (or linked) into place.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Random, Schema } from "effect"

/** A profile file could not be written. */
export class ProfileWriteError extends Schema.TaggedError<ProfileWriteError>()("ProfileWriteError", {
  /** The file, relative to the profile root. */
  file: Schema.String,
  message: Schema.String
}) {}

/** createFileAtomic found the file already there. */
export class FileExists extends Schema.TaggedError<FileExists>()("FileExists", {
  /** The file, relative to the profile root. */
  file: Schema.String
}) {}

const reasonOf = (error: PlatformError) => (error._tag === "SystemError" ? error.reason : error.message)

const isAlreadyExists = (error: PlatformError) => error._tag === "SystemError" && error.reason === "AlreadyExists"

/**
 * Writes `content` to a temporary file beside `root/file` (permission bits `mode`, less the
 * umask), then lets `install` put it in place. The temporary file never outlives the call.
 */
const writeThenInstall = <E>(
  root: string,
  file: string,
  content: string,
  mode: number,
  install: (temp: string, target: string, failed: (step: string) => (error: PlatformError) => ProfileWriteError) => Effect.Effect<void, E | ProfileWriteError, FileSystem.FileSystem>
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const target = path.join(root, file)
    const dir = path.dirname(target)
    const suffix = (yield* Random.nextIntBetween(0, 0x7fffffff)).toString(36)
    const temp = path.join(dir, `.${path.basename(target)}.${suffix}.tmp`)
    const failed = (step: string) => (error: PlatformError) =>
      new ProfileWriteError({
        file,
        message: `cannot ${step} (${reasonOf(error)}); check that ${
          path.relative(root, dir) || "the profile directory"
        } is writable by this user and the disk is not full`
      })

    yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError(failed("create its directory")))

    const writeTemp = Effect.scoped(
      Effect.gen(function*() {
        const handle = yield* fs.open(temp, { flag: "wx", mode })
        yield* handle.writeAll(new TextEncoder().encode(content))
        // Some file systems cannot fsync; the rename still keeps readers from a half-written file.
        yield* Effect.ignore(handle.sync)
      })
    ).pipe(Effect.mapError(failed("write a temporary file")))

    yield* Effect.ensuring(
      Effect.zipRight(writeTemp, install(temp, target, failed)),
      Effect.ignore(fs.remove(temp))
    )
  })

/** Replaces (or creates) `root/file` with `content`, atomically. */
export const writeFileAtomic = Effect.fn("AtomicFile.write")(function*(
  root: string,
  file: string,
  content: string,
  mode: number
) {
  yield* writeThenInstall(root, file, content, mode, (temp, target, failed) =>
    Effect.flatMap(FileSystem.FileSystem, (fs) =>
      fs.rename(temp, target).pipe(Effect.mapError(failed("move the new file into place")))))
})

/** Creates `root/file` with `content`, atomically; fails with FileExists if it is there already. */
export const createFileAtomic = Effect.fn("AtomicFile.create")(function*(
  root: string,
  file: string,
  content: string,
  mode: number
) {
  // link() refuses an existing target, so creation cannot race another writer.
  yield* writeThenInstall(root, file, content, mode, (temp, target, failed) =>
    Effect.flatMap(FileSystem.FileSystem, (fs) =>
      fs.link(temp, target).pipe(
        Effect.mapError((error) =>
          isAlreadyExists(error) ? new FileExists({ file }) : failed("move the new file into place")(error)
        )
      )))
})
