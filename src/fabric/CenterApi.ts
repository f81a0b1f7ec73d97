/**
 * STUB — owned by the fabric/sessions helper. Signature is the contract other modules rely on.
 */
import { Effect, Redacted } from "effect"
import type { Session } from "./FabricContract.js"
import type { FabricError } from "./FabricError.js"

export class CenterApi extends Effect.Service<CenterApi>()("plexum-fabric/CenterApi", {
  succeed: {
    /** `POST {centerBase}/agents/login`. */
    login: (_centerBase: string, _apiKey: Redacted.Redacted<string>): Effect.Effect<Session, FabricError> =>
      Effect.dieMessage("CenterApi.login: not implemented")
  }
}) {}
