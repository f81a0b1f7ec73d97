/**
 * STUB — owned by the profile helper. Signature is the contract other modules rely on.
 */
import { Effect, Schema } from "effect"
import type { LoadedProfile } from "./ProfileSchema.js"

export class ProfileError extends Schema.TaggedError<ProfileError>()("ProfileError", {
  /** Path of the file at fault, relative to the profile root. */
  file: Schema.String,
  /** Dotted field path, when one field is at fault. */
  field: Schema.optional(Schema.String),
  message: Schema.String
}) {}

export class Profile extends Effect.Service<Profile>()("plexum-fabric/Profile", {
  succeed: {
    /** Reads and validates the whole profile under `root`. */
    load: (_root: string): Effect.Effect<LoadedProfile, ProfileError> => Effect.dieMessage("Profile.load: not implemented")
  }
}) {}
