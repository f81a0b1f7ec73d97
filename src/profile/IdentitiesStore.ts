/**
 * Read-modify-write of `fabric-identities.json`, the one profile file that holds secrets.
 * The file is rewritten atomically with mode 0600, and every entry this command does not touch
 * is kept exactly as it was (fields this plugin does not know included). The read-modify-write
 * holds the profile lock, so concurrent registrations all survive.
 */
import { FileSystem, Path } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import { writeFileAtomic } from "./AtomicFile.js"
import { withProfileLock } from "./ProfileLock.js"
import { decodeProfileFile, identitiesContext, readProfileJson } from "./Profile.js"
import { IDENTITIES_FILE, IDENTITIES_FILE_MODE, IdentitiesFile } from "./ProfileSchema.js"
import { annotateSpan } from "../telemetry/Spans.js"

export interface IdentityUpdate {
  readonly apiKey: Redacted.Redacted<string>
  readonly enabled: boolean
}

export interface IdentityWritten {
  /** The file, relative to the profile root. */
  readonly file: string
  /** The file, absolute. */
  readonly path: string
  /** Whether the agent had an entry before. */
  readonly replaced: boolean
}

type RawIdentities = { readonly agents: Readonly<Record<string, unknown>> } & Readonly<Record<string, unknown>>

const emptyFile: RawIdentities = { version: 1, agents: {} }

export class IdentitiesStore extends Effect.Service<IdentitiesStore>()("plexum-fabric/IdentitiesStore", {
  effect: Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const provide = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | Path.Path>) =>
      effect.pipe(Effect.provideService(FileSystem.FileSystem, fs), Effect.provideService(Path.Path, path))

    /**
     * The file as it is on disk, validated first: a file this plugin cannot read is never
     * overwritten, or the other agents' keys would be lost.
     */
    const readRaw = (root: string) =>
      Effect.gen(function*() {
        const json = yield* provide(readProfileJson(root, IDENTITIES_FILE))
        if (Option.isNone(json)) return emptyFile
        yield* decodeProfileFile(IdentitiesFile, json.value, identitiesContext)
        return json.value as RawIdentities
      })

    /** The read-modify-write itself; only ever run holding the profile lock. */
    const write = Effect.fnUntraced(function*(root: string, agentId: string, update: IdentityUpdate) {
      const current = yield* readRaw(root)
      const replaced = Object.prototype.hasOwnProperty.call(current.agents, agentId)
      const next: RawIdentities = {
        ...current,
        agents: {
          ...current.agents,
          [agentId]: { fabric_api_key: Redacted.value(update.apiKey), enabled: update.enabled }
        }
      }
      yield* provide(
        writeFileAtomic(root, IDENTITIES_FILE, `${JSON.stringify(next, null, 2)}\n`, IDENTITIES_FILE_MODE)
      )
      return { file: IDENTITIES_FILE, path: path.join(root, IDENTITIES_FILE), replaced } satisfies IdentityWritten
    })

    const upsert = Effect.fn("IdentitiesStore.upsert")(function*(root: string, agentId: string, update: IdentityUpdate) {
      yield* annotateSpan({ agent: agentId })
      return yield* provide(withProfileLock(root)(write(root, agentId, update)))
    })

    return {
      /** Adds or replaces `agentId`'s entry, keeping every other entry as it was. */
      upsert
    } as const
  })
}) {}
