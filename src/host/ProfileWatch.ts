/**
 * Signals that the profile's bindings or identities may have changed on disk: binding files
 * added, removed or edited in `channels/`, or `fabric-identities.json` rewritten by
 * `plexum-fabric-register`. The host server reloads and compares; this only says "look again".
 */
import { FileSystem, Path } from "@effect/platform"
import { Duration, Effect, Schedule, Stream } from "effect"
import { CHANNELS_DIR, IDENTITIES_FILE } from "../profile/ProfileSchema.js"

/** Editors and atomic writes produce bursts of events: one reload per burst. */
export const PROFILE_SETTLE = Duration.millis(300)
/** A folder that cannot be watched yet (not created) is tried again this often. */
export const PROFILE_WATCH_RETRY = Schedule.spaced("5 seconds")

export const profileChanges = (root: string): Stream.Stream<void, never, FileSystem.FileSystem | Path.Path> =>
  Stream.unwrap(
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      // Retried forever: a watch that cannot start yet must not end the plugin.
      const watch = (dir: string) => fs.watch(dir).pipe(Stream.retry(PROFILE_WATCH_RETRY), Stream.orDie)
      const identities = watch(root).pipe(Stream.filter((event) => path.basename(event.path) === IDENTITIES_FILE))
      // One look once the watches are set (the burst window lets them start), so that a change
      // made while the plugin was starting is not missed.
      return Stream.mergeAll([Stream.succeed(void 0), identities, watch(path.join(root, CHANNELS_DIR))], { concurrency: 3 }).pipe(
        Stream.debounce(PROFILE_SETTLE),
        Stream.as(void 0)
      )
    })
  )
