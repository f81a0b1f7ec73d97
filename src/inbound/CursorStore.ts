/**
 * Durable delivery state (profile.md v1.1): per (agent, guild node, channel), the id of the
 * last message handled there (delivered, recorded or dropped). Loaded once at start from
 * `plugins/plexum-fabric-channel/state/cursors.json` under the profile root, then kept in
 * memory: `get` and `set` touch a Map only, since the inbound path calls `set` per batch.
 *
 * A fiber owned by the service's scope writes the file at most once a second, and only when a
 * cursor changed since the last write; closing the scope (a graceful stop) writes what is
 * left. So a crash loses at most the last second of positions (those messages are delivered
 * again, never lost) and a graceful stop loses none.
 *
 * The file is replaced atomically (`AtomicFile`): a reader or a crash sees the old state or the
 * new one. `@effect/platform`'s `KeyValueStore.layerFileSystem` was the first choice, but its
 * `set` writes the file in place (`writeFileString`), so a crash mid-write leaves half a file.
 */
import { FileSystem, Path } from "@effect/platform"
import { Duration, Effect, Either, Layer, Option, ParseResult, Schema } from "effect"
import { writeFileAtomic } from "../profile/AtomicFile.js"
import { ActiveProfile } from "../profile/ProfileSchema.js"

/** The plugin's state folder, relative to the profile root. Deleting it is always safe. */
export const STATE_DIR = "plugins/plexum-fabric-channel/state"
/** The cursor file, relative to the profile root. */
export const CURSORS_FILE = `${STATE_DIR}/cursors.json`
/** Longest time a changed cursor stays unsaved while the plugin runs. */
export const CURSOR_FLUSH_INTERVAL = Duration.seconds(1)

/** The file holds message ids only, but they are the operator's business alone. */
const CURSORS_FILE_MODE = 0o600

/** One cursor's place. */
export interface CursorKey {
  readonly agentId: string
  readonly guildNodeId: string
  readonly channelId: string
}

/** `cursors.json`: `cursors[agent][guild node][channel]` is the last handled message id. */
const CursorsFile = Schema.Struct({
  version: Schema.Literal(1),
  cursors: Schema.Record({
    key: Schema.String,
    value: Schema.Record({ key: Schema.String, value: Schema.Record({ key: Schema.String, value: Schema.String }) })
  })
})
const CursorsJson = Schema.parseJson(CursorsFile)

const keyOf = (key: CursorKey) => JSON.stringify([key.agentId, key.guildNodeId, key.channelId])

/** The in-memory map as the file's content. */
const encodeCursors = (cursors: ReadonlyMap<string, string>): string => {
  const nested: Record<string, Record<string, Record<string, string>>> = {}
  for (const [key, messageId] of cursors) {
    const [agentId, guildNodeId, channelId] = JSON.parse(key) as [string, string, string]
    const guilds = (nested[agentId] ??= {})
    const channels = (guilds[guildNodeId] ??= {})
    channels[channelId] = messageId
  }
  return JSON.stringify({ version: 1, cursors: nested }, null, 2) + "\n"
}

/** The file's content as the in-memory map, or what is wrong with it. */
const decodeCursors = (text: string): Either.Either<Map<string, string>, string> =>
  Either.map(
    Either.mapLeft(Schema.decodeUnknownEither(CursorsJson)(text), (error) => ParseResult.TreeFormatter.formatErrorSync(error)),
    (file) => {
      const cursors = new Map<string, string>()
      for (const [agentId, guilds] of Object.entries(file.cursors)) {
        for (const [guildNodeId, channels] of Object.entries(guilds)) {
          for (const [channelId, messageId] of Object.entries(channels)) {
            cursors.set(keyOf({ agentId, guildNodeId, channelId }), messageId)
          }
        }
      }
      return cursors
    }
  )

export class CursorStore extends Effect.Service<CursorStore>()("plexum-fabric/CursorStore", {
  scoped: Effect.gen(function*() {
    const { root } = yield* ActiveProfile
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path

    const unreadable = (problem: string) =>
      Effect.logWarning(
        `The delivery state ${CURSORS_FILE} cannot be read (${problem}). Starting as on a first run: messages ` +
          `posted while the plugin was not running are not delivered this time. The file is rewritten at the ` +
          `next save; deleting the ${STATE_DIR} folder is always safe.`
      ).pipe(Effect.as(new Map<string, string>()))

    const cursors: Map<string, string> = yield* fs.readFileString(path.join(root, CURSORS_FILE)).pipe(
      Effect.flatMap((text) => Either.match(decodeCursors(text), { onLeft: unreadable, onRight: Effect.succeed })),
      Effect.catchAll((error) =>
        error._tag === "SystemError" && error.reason === "NotFound"
          ? Effect.succeed(new Map<string, string>())
          : unreadable(error._tag === "SystemError" ? error.reason : error.message)
      )
    )

    /** Bumped by every change; `saved` is the change the file holds. */
    let changes = 0
    let saved = 0
    let lastProblem = ""

    const save = Effect.gen(function*() {
      if (changes === saved) return
      const upTo = changes
      const written = yield* Effect.either(writeFileAtomic(root, CURSORS_FILE, encodeCursors(cursors), CURSORS_FILE_MODE))
      if (Either.isRight(written)) {
        saved = upTo
        lastProblem = ""
        return
      }
      // Once per new problem: a read-only disk would otherwise warn every second.
      if (written.left.message === lastProblem) return
      lastProblem = written.left.message
      yield* Effect.logWarning(
        `Cannot save the delivery state ${CURSORS_FILE}: ${written.left.message}. Retrying every ` +
          `${Duration.format(CURSOR_FLUSH_INTERVAL)}; until it succeeds, a restart delivers again what this run delivered.`
      )
    }).pipe(
      // A save that started completes: the final save at stop must not race a half-done one.
      Effect.uninterruptible,
      Effect.withSpan("CursorStore.save")
    )

    // Finalizers run last-added first: the periodic fiber stops, then the final save runs.
    yield* Effect.addFinalizer(() => save)
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(CURSOR_FLUSH_INTERVAL), save)))

    const unsafeGet = (key: CursorKey): string | undefined => cursors.get(keyOf(key))
    const unsafeSet = (key: CursorKey, messageId: string): void => {
      const k = keyOf(key)
      if (cursors.get(k) === messageId) return
      cursors.set(k, messageId)
      changes++
    }

    return {
      /** The last message handled in a channel, if any run of the plugin recorded one. */
      get: (key: CursorKey): Effect.Effect<Option.Option<string>> => Effect.sync(() => Option.fromNullable(unsafeGet(key))),
      /** Records the last message handled in a channel; saved within a second. */
      set: (key: CursorKey, messageId: string): Effect.Effect<void> => Effect.sync(() => unsafeSet(key, messageId)),
      /** `get` for the batch core, which reads it synchronously when a channel's state is made. */
      unsafeGet,
      /** `set` for the batch core, which records every channel a batch moved in one Effect. */
      unsafeSet
    } as const
  }).pipe(Effect.annotateLogs({ service: "CursorStore" }))
}) {
  /** Positions kept in memory only: for tests of a plugin that is never restarted. */
  static readonly Memory = Layer.sync(CursorStore, () => {
    const cursors = new Map<string, string>()
    const unsafeGet = (key: CursorKey) => cursors.get(keyOf(key))
    const unsafeSet = (key: CursorKey, messageId: string) => void cursors.set(keyOf(key), messageId)
    return CursorStore.make({
      get: (key) => Effect.sync(() => Option.fromNullable(unsafeGet(key))),
      set: (key, messageId) => Effect.sync(() => unsafeSet(key, messageId)),
      unsafeGet,
      unsafeSet
    })
  })
}
