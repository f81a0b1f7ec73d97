/**
 * The seam between the protocol and the product: what the host server needs from the rest of
 * the plugin. main.ts implements it by composing the Layers; tests can supply their own.
 */
import { Context, type Effect, type Scope } from "effect"
import type { ProfileError } from "../profile/Profile.js"
import type { LoadedProfile } from "../profile/ProfileSchema.js"
import type { ToolInfo, ToolResult, UnknownTool } from "./HostProtocol.js"

export interface ActivePlugin {
  readonly profile: LoadedProfile
  readonly callTool: (name: string, args: unknown) => Effect.Effect<ToolResult, UnknownTool>
  /** Background work once `initialize` is answered (warm sessions, supervise sockets). */
  readonly run: Effect.Effect<void>
}

export class Activation extends Context.Tag("plexum-fabric/Activation")<Activation, {
  /** The tool catalog: static, so `tools/list` and the manifest work before `initialize`. */
  readonly catalog: ReadonlyArray<ToolInfo>
  readonly loadProfile: Effect.Effect<LoadedProfile, ProfileError>
  /** Builds the running plugin for a loaded profile; it lives until the scope closes. */
  readonly activate: (profile: LoadedProfile) => Effect.Effect<ActivePlugin, never, Scope.Scope>
}>() {}
