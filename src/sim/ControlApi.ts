/**
 * The sim's controls over HTTP, mounted on the center under `/_sim`, so that a sim running
 * in another process (the demo, the benchmark) can be driven. JSON in, JSON out; secrets
 * (api keys, tokens) are sent in clear here because their reader is a test harness. Every
 * route calls the same `SimControls` the in-process handle exposes. docs/sim.md lists them.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { Channel, Message, RouteTemplates, SlashCommand } from "../fabric/FabricContract.js"
import type { RouteName } from "../fabric/FabricContract.js"
import { RecordedCall } from "./CallLog.js"
import { body, errorResponse, respond } from "./HttpKit.js"
import type { SimControls } from "./SimControls.js"
import { SeedResult, SimSeed } from "./SimSeed.js"
import { SimFault } from "./SimState.js"

const RouteNameSchema = Schema.String.pipe(
  Schema.filter((name): name is RouteName => Object.hasOwn(RouteTemplates, name), {
    message: () => `route must be one of ${Object.keys(RouteTemplates).join(", ")}`
  })
)

const UserKind = Schema.Literal("user", "agent")

export const ControlSchemas = {
  CreateUser: Schema.Struct({ display_name: Schema.String, email: Schema.optional(Schema.String) }),
  CreateAgent: Schema.Struct({
    display_name: Schema.String,
    email: Schema.optional(Schema.String),
    api_key: Schema.optional(Schema.String)
  }),
  User: Schema.Struct({ id: Schema.String, display_name: Schema.String, email: Schema.String, kind: UserKind }),
  Agent: Schema.Struct({
    id: Schema.String,
    display_name: Schema.String,
    email: Schema.String,
    kind: UserKind,
    api_key: Schema.Redacted(Schema.String)
  }),
  CreateGuild: Schema.Struct({ name: Schema.String, port: Schema.optional(Schema.Int) }),
  Guild: Schema.Struct({ node_id: Schema.String, name: Schema.String, endpoint: Schema.String }),
  AddMember: Schema.Struct({ user_id: Schema.String }),
  CreateChannel: Schema.Struct({
    name: Schema.String,
    x_type: Schema.Literal("group", "public", "private"),
    member_ids: Schema.Array(Schema.String),
    created_by: Schema.optional(Schema.String)
  }),
  OpenDm: Schema.Struct({ user_id: Schema.String, peer_id: Schema.String }),
  Membership: Schema.Struct({ user_id: Schema.String }),
  PostAs: Schema.Struct({
    author_id: Schema.String,
    content: Schema.String,
    wakeup: Schema.optional(Schema.Boolean),
    reply_to: Schema.optional(Schema.String)
  }),
  Burst: Schema.Struct({
    author_id: Schema.String,
    content: Schema.String,
    count: Schema.Int.pipe(Schema.between(1, 10_000_000)),
    per_second: Schema.optional(Schema.Number.pipe(Schema.positive())),
    wakeup: Schema.optional(Schema.Boolean)
  }),
  Edit: Schema.Struct({ content: Schema.String }),
  CommandPuts: Schema.Struct({
    puts: Schema.Array(Schema.Struct({ user_id: Schema.String, commands: Schema.Array(SlashCommand) }))
  }),
  Messages: Schema.Struct({ messages: Schema.Array(Message) }),
  Presence: Schema.Struct({ user_id: Schema.String, status: Schema.String }),
  Calls: Schema.Struct({ calls: Schema.Array(RecordedCall) }),
  TypingSupport: Schema.Struct({ supported: Schema.Boolean }),
  RawEvent: Schema.Struct({ user_id: Schema.String, event: Schema.String, payload: Schema.Unknown }),
  Drop: Schema.Struct({ user_id: Schema.optional(Schema.String) }),
  Count: Schema.Struct({ count: Schema.Number }),
  Sockets: Schema.Struct({
    sockets: Schema.Array(Schema.Struct({ socket_id: Schema.String, user_id: Schema.String, expires_at: Schema.String })),
    stats: Schema.Struct({ connect_attempts: Schema.Number, connections: Schema.Number, connected: Schema.Number })
  }),
  Suppress: Schema.Struct({ user_id: Schema.String, duration_ms: Schema.optional(Schema.Number) }),
  TokenTtl: Schema.Struct({ seconds: Schema.Number.pipe(Schema.positive()) }),
  IssueToken: Schema.Struct({ guild_id: Schema.String, user_id: Schema.String, ttl_seconds: Schema.optional(Schema.Number) }),
  Token: Schema.Struct({ token: Schema.Redacted(Schema.String), expires_at: Schema.String }),
  Fail: Schema.Struct({
    scope: Schema.String,
    route: RouteNameSchema,
    status: Schema.Int,
    count: Schema.optional(Schema.Int),
    code: Schema.optional(Schema.String),
    retry_after_seconds: Schema.optional(Schema.Number)
  })
} as const

const Empty = Schema.Struct({})

type Params = Readonly<Record<string, string | undefined>>

/** A control route: decode the body, run, encode the answer (204 when `output` is absent). */
const control = <A, I, B, J, E>(
  input: Schema.Schema<A, I> | undefined,
  output: Schema.Schema<B, J> | undefined,
  run: (request: A, params: Params) => Effect.Effect<B, E>
) =>
  Effect.gen(function*() {
    const params = yield* HttpRouter.params
    const request = input === undefined ? ({} as A) : yield* body(input)
    const result = yield* run(request, params)
    return output === undefined ? HttpServerResponse.empty({ status: 204 }) : yield* respond(output)(result)
  }).pipe(
    Effect.catchAll((error) =>
      Effect.succeed(errorResponse(
        error instanceof SimFault
          ? error
          : new SimFault({ status: 500, code: "sim_error", message: error instanceof Error ? error.message : String(error) })
      ))
    )
  )

const p = (params: Params, name: string) => params[name] ?? ""

export const makeControlApi = (sim: SimControls) => {
  const S = ControlSchemas
  return HttpRouter.empty.pipe(
    HttpRouter.post("/users", control(S.CreateUser, S.User, (request) => sim.createUser(request))),
    HttpRouter.post("/agents", control(S.CreateAgent, S.Agent, (request) => sim.createAgent(request))),
    HttpRouter.post("/guilds", control(S.CreateGuild, S.Guild, (request) => sim.createGuild(request))),
    HttpRouter.post(
      "/guilds/:guild/members",
      control(S.AddMember, undefined, (request, params) => sim.addMember(p(params, "guild"), request.user_id))
    ),
    HttpRouter.post(
      "/guilds/:guild/channels",
      control(S.CreateChannel, Channel, (request, params) => sim.createChannel(p(params, "guild"), request))
    ),
    HttpRouter.post(
      "/guilds/:guild/dms",
      control(S.OpenDm, Channel, (request, params) => sim.openDm(p(params, "guild"), request.user_id, request.peer_id))
    ),
    HttpRouter.post(
      "/guilds/:guild/channels/:channel/join",
      control(S.Membership, Channel, (request, params) =>
        sim.joinChannel(p(params, "guild"), request.user_id, p(params, "channel")))
    ),
    HttpRouter.post(
      "/guilds/:guild/channels/:channel/leave",
      control(S.Membership, undefined, (request, params) =>
        sim.leaveChannel(p(params, "guild"), request.user_id, p(params, "channel")))
    ),
    HttpRouter.post(
      "/guilds/:guild/channels/:channel/messages",
      control(S.PostAs, Message, (request, params) => sim.postMessage(p(params, "guild"), p(params, "channel"), request))
    ),
    HttpRouter.get(
      "/guilds/:guild/channels/:channel/messages",
      control(undefined, S.Messages, (_, params) =>
        Effect.map(sim.messages(p(params, "guild"), p(params, "channel")), (messages) => ({ messages })))
    ),
  ).pipe(
    HttpRouter.post(
      "/guilds/:guild/channels/:channel/burst",
      control(S.Burst, S.Count, (request, params) =>
        Effect.map(sim.postBurst(p(params, "guild"), p(params, "channel"), request), (count) => ({ count })))
    ),
    HttpRouter.get(
      "/guilds/:guild/commands",
      control(undefined, S.CommandPuts, (_, params) => Effect.map(sim.commandPuts(p(params, "guild")), (puts) => ({ puts })))
    ),
    HttpRouter.post(
      "/guilds/:guild/channels/:channel/messages/:message/edit",
      control(S.Edit, Message, (request, params) =>
        sim.editMessage(p(params, "guild"), p(params, "channel"), p(params, "message"), request.content))
    ),
    HttpRouter.post(
      "/guilds/:guild/presence",
      control(S.Presence, undefined, (request, params) =>
        sim.setPresence(p(params, "guild"), request.user_id, request.status))
    ),
    HttpRouter.get(
      "/guilds/:guild/calls",
      control(undefined, S.Calls, (_, params) => Effect.map(sim.calls(p(params, "guild")), (calls) => ({ calls })))
    ),
    HttpRouter.put(
      "/guilds/:guild/typing-support",
      control(S.TypingSupport, undefined, (request, params) => sim.setTypingSupported(p(params, "guild"), request.supported))
    ),
    HttpRouter.post(
      "/guilds/:guild/emit",
      control(S.RawEvent, undefined, (request, params) =>
        sim.emitRaw(p(params, "guild"), request.user_id, request.event, request.payload))
    ),
    HttpRouter.post(
      "/guilds/:guild/drop",
      control(S.Drop, S.Count, (request, params) =>
        Effect.map(sim.dropSockets(p(params, "guild"), request.user_id), (count) => ({ count })))
    ),
    HttpRouter.post(
      "/guilds/:guild/restart",
      control(undefined, undefined, (_, params) => sim.restartGuild(p(params, "guild")))
    ),
    HttpRouter.get(
      "/guilds/:guild/sockets",
      control(undefined, S.Sockets, (_, params) =>
        Effect.all({ sockets: sim.sockets(p(params, "guild")), stats: sim.socketStats(p(params, "guild")) }))
    ),
    HttpRouter.post(
      "/suppress",
      control(S.Suppress, undefined, (request) => sim.suppress(request.user_id, request.duration_ms))
    ),
    HttpRouter.post("/resume", control(S.Membership, undefined, (request) => sim.resume(request.user_id))),
    HttpRouter.put("/token-ttl", control(S.TokenTtl, undefined, (request) => sim.setTokenTtl(request.seconds))),
    HttpRouter.post(
      "/tokens",
      control(S.IssueToken, S.Token, (request) => sim.issueToken(request.guild_id, request.user_id, request.ttl_seconds))
    ),
    HttpRouter.get(
      "/logins/:user",
      control(undefined, S.Count, (_, params) => Effect.map(sim.loginCount(p(params, "user")), (count) => ({ count })))
    ),
    HttpRouter.post("/fail", control(S.Fail, undefined, (request) => sim.failNext(request))),
    HttpRouter.post("/seed", control(SimSeed, SeedResult, (request) => sim.seed(request))),
    HttpRouter.get("/health", control(undefined, Empty, () => Effect.succeed({})))
  )
}
