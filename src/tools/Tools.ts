/**
 * STUB — owned by the tools helper. Signature is the contract the host layer relies on.
 */
import { Effect, Schema } from "effect"
import type { ToolInfo, ToolResult } from "./Tool.js"

export class UnknownTool extends Schema.TaggedError<UnknownTool>()("UnknownTool", { name: Schema.String }) {}

export class Tools extends Effect.Service<Tools>()("plexum-fabric/Tools", {
  succeed: {
    list: [] as ReadonlyArray<ToolInfo>,
    /** Never fails for a tool's own failure: that is a result with `isError`. */
    call: (name: string, _args: unknown): Effect.Effect<ToolResult, UnknownTool> => Effect.fail(new UnknownTool({ name }))
  }
}) {}
