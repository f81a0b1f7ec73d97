/**
 * The sim's center: `POST /api/agents/login` trades an agent's api key for a Session (its
 * guilds and one fresh guild token each). The same listener serves the control API under
 * `/_sim`, so a sim in another process is driven through one address.
 */
import { HttpRouter } from "@effect/platform"
import { Clock, Effect, Redacted } from "effect"
import type { Scope } from "effect"
import { GuildAccessToken, LoginRequest, Paths, Session, SessionGuild, SessionUser } from "../fabric/FabricContract.js"
import type { GuildNode } from "./GuildNode.js"
import { body, endpointOf, errorResponse, plannedFailure, respond, serveHttp } from "./HttpKit.js"
import type { SimListenError } from "./HttpKit.js"
import type { SimCore } from "./SimCore.js"
import { issueGuildToken } from "./SimCore.js"
import { fault } from "./SimState.js"

export const CENTER_API_PREFIX = "/api"
export const CONTROL_PREFIX = "/_sim"

export interface Center {
  readonly port: number
  /** `center_api_base` of the plugin config. */
  readonly apiBase: string
  readonly controlBase: string
}

export const makeCenter = (
  core: SimCore,
  nodes: ReadonlyMap<string, GuildNode>,
  control: HttpRouter.HttpRouter,
  port: number
): Effect.Effect<Center, SimListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const { state } = core

    const login = Effect.gen(function*() {
      const plan = state.takeFault("center", "login")
      if (plan !== undefined) return plannedFailure(plan)
      const request = yield* body(LoginRequest)
      const userId = state.apiKeys.get(Redacted.value(request.api_key))
      if (userId === undefined) {
        return yield* fault(401, "invalid_api_key", "the api key is unknown to the center: check the agent's identity file")
      }
      state.logins.set(userId, (state.logins.get(userId) ?? 0) + 1)
      const now = yield* Clock.currentTimeMillis
      const user = state.users.get(userId)!
      const guilds = Array.from(nodes.values()).filter((node) => node.guild.members.has(userId))
      return yield* respond(Session)(
        new Session({
          user: new SessionUser({ id: user.id, email: user.email, display_name: user.display_name }),
          guilds: guilds.map((node) => new SessionGuild({ node_id: node.id, name: node.name, endpoint: node.endpoint })),
          guild_access_tokens: guilds.map((node) => {
            const issued = issueGuildToken(core, userId, node.id, now)
            return new GuildAccessToken({
              guild_node_id: node.id,
              token: issued.token,
              expires_at: new Date(issued.expiresAtMs).toISOString()
            })
          })
        })
      )
    }).pipe(Effect.catchTag("SimFault", (error) => Effect.succeed(errorResponse(error))))

    const app = HttpRouter.empty.pipe(
      HttpRouter.post(`${CENTER_API_PREFIX}${Paths.login}`, login),
      HttpRouter.mountApp(CONTROL_PREFIX, control, { includePrefix: false })
    )
    const bound = yield* serveHttp(app, port)
    return {
      port: bound,
      apiBase: `${endpointOf(bound)}${CENTER_API_PREFIX}`,
      controlBase: `${endpointOf(bound)}${CONTROL_PREFIX}`
    }
  })
