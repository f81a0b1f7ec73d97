import { Schema } from "effect"

/**
 * A Fabric call that did not succeed, after the retries fabric-api.md allows. `message` is one
 * line fit for an agent or an operator: what went wrong and what to do. It never holds a key
 * or a token.
 */
export class FabricError extends Schema.TaggedError<FabricError>()("FabricError", {
  /** Route template (`POST /api/channels/{id}/messages`), never a concrete URL with a token. */
  route: Schema.String,
  reason: Schema.Literal(
    "bad_request",
    "unauthorized",
    "forbidden",
    "not_found",
    "conflict",
    "too_large",
    "rate_limited",
    "unavailable",
    "invalid_response"
  ),
  status: Schema.optional(Schema.Number),
  /** Fabric's `error.code`, when it sent one. */
  code: Schema.optional(Schema.String),
  message: Schema.String,
  /** `error.current` of a 409 (the current canvas). */
  current: Schema.optional(Schema.Unknown)
}) {
  /** The same failure, told in words that fit where it surfaced. */
  withMessage(message: string, current: unknown = this.current): FabricError {
    return new FabricError({ route: this.route, reason: this.reason, status: this.status, code: this.code, message, current })
  }
}
