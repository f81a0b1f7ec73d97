/**
 * The Fabric center: an agent logs in with its API key and gets its guilds and a token for
 * each. Transient failures are retried by FabricHttp; a 401 is final (the key is wrong, and
 * trying it again will not change that).
 */
import { Effect, Metric, Redacted, Schema } from "effect"
import { logins } from "../telemetry/Metrics.js"
import { annotateSpan, Attr, fnWhileTracing } from "../telemetry/Spans.js"
import { LoginRequest, Paths, RouteTemplates, Session } from "./FabricContract.js"
import type { FabricError } from "./FabricError.js"
import { FabricHttp } from "./FabricHttp.js"

const countLogin = (outcome: "ok" | "failed") => Metric.increment(Metric.tagged(logins, "outcome", outcome))

const refusedKey = (centerBase: string, error: FabricError) =>
  error.withMessage(
    `the Fabric center at ${centerBase} refused the agent's API key (401${
      error.code === undefined ? "" : ` ${error.code}`
    }); register a valid key: plexum-fabric-register --agent-id <id> --api-key <key>`
  )

export class CenterApi extends Effect.Service<CenterApi>()("plexum-fabric/CenterApi", {
  effect: Effect.gen(function*() {
    const http = yield* FabricHttp

    /** `POST {centerBase}/agents/login`. */
    const login = fnWhileTracing("CenterApi.login")(Effect.fnUntraced(
      function*(centerBase: string, apiKey: Redacted.Redacted<string>) {
        yield* annotateSpan({ "fabric.center": centerBase, [Attr.route]: RouteTemplates.login })
        const body = yield* Schema.encode(LoginRequest)({ api_key: apiKey }).pipe(Effect.orDie)
        return yield* http.request({
          route: "login",
          base: centerBase,
          path: Paths.login,
          target: "the Fabric center",
          json: body,
          response: Session
        }).pipe(
          Effect.catchIf((error) => error.reason === "unauthorized", (error) => Effect.fail(refusedKey(centerBase, error)))
        )
      },
      (effect) => effect.pipe(Effect.tapBoth({ onFailure: () => countLogin("failed"), onSuccess: () => countLogin("ok") }))
    ))

    return { login } as const
  }),
  dependencies: [FabricHttp.Default]
}) {}
