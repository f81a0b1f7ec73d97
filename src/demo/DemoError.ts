import { Schema } from "effect"

/** The demo could not show what it set out to show; `message` says which step and why. */
export class DemoError extends Schema.TaggedError<DemoError>()("DemoError", {
  message: Schema.String
}) {}
