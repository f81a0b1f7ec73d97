/**
 * The profile's write lock: operator commands that read a profile file, change it and write it
 * back (`plexum-fabric-register`, `plexum-fabric-bind`) hold it, so that twenty runs at once
 * make twenty changes instead of the last writer winning. The atomic rename alone keeps a file
 * whole; only the lock keeps every change.
 *
 * The lock is a file created exclusively (`wx`), holding who owns it. A lock whose owner process
 * is gone (same host), or older than STALE_AFTER, is broken: a crashed command must not block the
 * next one for ever.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Duration, Effect, Option, Random, Schedule, Schema, type Scope } from "effect"
import { hostname } from "node:os"

export const LOCK_FILE = ".plexum-fabric.lock"
/** No command holds the lock longer than a few file operations; one this old is left over. */
export const STALE_AFTER = Duration.seconds(30)
/** How long a command waits for another to finish before it gives up. */
export const LOCK_WAIT = Duration.seconds(15)
const lockRetry = Schedule.spaced(Duration.millis(20)).pipe(Schedule.jittered, Schedule.upTo(LOCK_WAIT))

export class ProfileLockError extends Schema.TaggedError<ProfileLockError>()("ProfileLockError", {
  /** The lock file, absolute. */
  file: Schema.String,
  message: Schema.String
}) {}

/** What the lock file holds. `nonce` tells one holder from the next with the same pid. */
export const LockOwner = Schema.Struct({
  pid: Schema.Int,
  host: Schema.String,
  since: Schema.Number,
  nonce: Schema.String
})
export type LockOwner = typeof LockOwner.Type

/** Whether a lock held by `owner` may be broken. Pure: `alive` answers for a pid of this host. */
export const isStale = (owner: Option.Option<LockOwner>, ageMillis: number, thisHost: string, alive: (pid: number) => boolean) =>
  ageMillis > Duration.toMillis(STALE_AFTER) ||
  Option.match(owner, {
    // Unreadable or half-written content that has aged a little: its writer died mid-way.
    onNone: () => ageMillis > 1000,
    onSome: (o) => o.host === thisHost && !alive(o.pid)
  })

const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

class Held {
  readonly _tag = "Held"
}

const isAlreadyExists = (error: PlatformError) => error._tag === "SystemError" && error.reason === "AlreadyExists"
const isNotFound = (error: PlatformError) => error._tag === "SystemError" && error.reason === "NotFound"

const decodeOwner = Schema.decodeUnknownOption(Schema.parseJson(LockOwner))

/**
 * Takes the lock of the profile at `root` for the rest of the scope, waiting (up to LOCK_WAIT)
 * while another command holds it. The lock file is removed when the scope closes, however.
 */
export const holdProfileLock = (root: string): Effect.Effect<void, ProfileLockError, Scope.Scope | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(root, LOCK_FILE)
    const failed = (step: string) => (error: PlatformError) =>
      new ProfileLockError({
        file,
        message: `cannot ${step} the profile lock ${file} (${error._tag === "SystemError" ? error.reason : error.message}); ` +
          "check that the profile directory is writable by this user"
      })
    const me: LockOwner = {
      pid: process.pid,
      host: hostname(),
      since: yield* Clock.currentTimeMillis,
      nonce: (yield* Random.nextIntBetween(0, 0x7fffffff)).toString(36)
    }

    /** Breaks the lock if it is the stale one we read: moved aside first, so that only one breaker wins. */
    const breakStale = (seen: string) =>
      Effect.gen(function*() {
        const aside = `${file}.${me.nonce}.stale`
        yield* fs.rename(file, aside)
        const moved = yield* fs.readFileString(aside)
        if (moved !== seen) {
          // A live lock was taken between our read and the move: put it back where it was.
          yield* Effect.ignore(fs.link(aside, file))
        }
        yield* fs.remove(aside)
      }).pipe(Effect.catchIf(isNotFound, () => Effect.void))

    const tryAcquire = Effect.gen(function*() {
      yield* fs.makeDirectory(root, { recursive: true }).pipe(Effect.mapError(failed("create the directory of")))
      const created = yield* fs.writeFileString(file, JSON.stringify(me), { flag: "wx", mode: 0o600 }).pipe(
        Effect.as(true),
        Effect.catchIf(isAlreadyExists, () => Effect.succeed(false)),
        Effect.mapError(failed("create"))
      )
      if (created) return
      const seen = yield* fs.readFileString(file).pipe(Effect.option)
      const info = yield* fs.stat(file).pipe(Effect.option)
      if (Option.isNone(seen) || Option.isNone(info)) return yield* Effect.fail(new Held()) // just released: try again
      const age = (yield* Clock.currentTimeMillis) - Option.getOrElse(info.value.mtime, () => new Date()).getTime()
      if (isStale(decodeOwner(seen.value), age, me.host, processAlive)) {
        yield* Effect.logWarning(`breaking a stale profile lock ${file} left by ${seen.value.slice(0, 200)}`)
        yield* breakStale(seen.value).pipe(Effect.mapError(failed("break")))
      }
      return yield* Effect.fail(new Held())
    })

    const busy = Effect.gen(function*() {
      const owner = decodeOwner(yield* fs.readFileString(file).pipe(Effect.orElseSucceed(() => "")))
      return new ProfileLockError({
        file,
        message: `another command has held the profile lock ${file} for over ${Duration.format(LOCK_WAIT)}${
          Option.match(owner, { onNone: () => "", onSome: (o) => ` (pid ${o.pid} on ${o.host})` })
        }; wait for it to finish, or remove the file if no such command is running`
      })
    })

    const acquire = tryAcquire.pipe(
      Effect.retry({ schedule: lockRetry, while: (error) => error instanceof Held }),
      Effect.catchIf((error): error is Held => error instanceof Held, () => Effect.flatMap(busy, Effect.fail))
    )
    const release = fs.readFileString(file).pipe(
      Effect.flatMap((content) => (content === JSON.stringify(me) ? fs.remove(file) : Effect.void)),
      Effect.ignore
    )
    yield* Effect.acquireRelease(acquire, () => release)
  })

/** Runs `effect` holding the lock of the profile at `root` (see holdProfileLock). */
export const withProfileLock = (root: string) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.scoped(Effect.zipRight(holdProfileLock(root), effect))
