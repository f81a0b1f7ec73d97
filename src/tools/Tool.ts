/**
 * What an agent-facing tool is. STUB of the shape — owned by the tools helper, who may refine it
 * (keep `Tools.list` / `Tools.call` as the host layer uses them).
 */
import { Schema } from "effect"

/** A tool that ran but failed: becomes `{"isError": true}` with this one line. */
export class ToolFailure extends Schema.TaggedError<ToolFailure>()("ToolFailure", {
  message: Schema.String
}) {}

export interface ToolInfo {
  readonly name: string
  readonly description: string
  /** JSON Schema of the arguments. */
  readonly inputSchema: unknown
}

export interface ToolResult {
  readonly content: ReadonlyArray<{ readonly type: "text"; readonly text: string }>
  readonly isError?: boolean
}
