/**
 * The guild node REST API of fabric-api.md, one route per row of its table. Every route
 * first consumes a planned failure (`failNext`), then checks the Bearer token (signature,
 * `exp`, this guild, guild membership), then runs the operation; a `SimFault` becomes the
 * contract's error body.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse, Multipart } from "@effect/platform"
import { Chunk, Clock, Effect, Either, Option, Stream } from "effect"
import {
  Attachment,
  ATTACHMENT_MAX_BYTES,
  Canvas,
  Channel,
  ChannelList,
  CloseSubDiscussionBody,
  CreateChannelBody,
  CreateDmBody,
  CreateSubDiscussionBody,
  MemberList,
  Message,
  MessagePage,
  PostMessageBody,
  PutCanvasBody,
  PutCommandsBody,
  PutPresenceBody,
  SubDiscussion,
  SubDiscussionList
} from "../fabric/FabricContract.js"
import { ROUTE_NOT_FOUND_CODE, type RouteName } from "../fabric/FabricContract.js"
import type { RecordedCall } from "./CallLog.js"
import { bearerToken, body, errorResponse, noContent, plannedFailure, respond } from "./HttpKit.js"
import * as Jwt from "./Jwt.js"
import type { SimCore } from "./SimCore.js"
import { fault, type GuildState, SimFault } from "./SimState.js"

const idParam = Effect.map(HttpRouter.params, (params) => params["id"] ?? "")

const queryParam = (name: string) =>
  Effect.map(HttpServerRequest.ParsedSearchParams, (params) => {
    const value = params[name]
    return Array.isArray(value) ? value[0] : value
  })

const tooLarge = fault(413, "payload_too_large", `the file is over ${ATTACHMENT_MAX_BYTES} bytes, the upload limit`)

/** The bytes of the multipart part named `file` (other parts are drained). */
const uploadedFile = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  // Multipart framing adds a little; refuse what cannot fit before reading it.
  if (Number(request.headers["content-length"] ?? 0) > ATTACHMENT_MAX_BYTES + 64 * 1024) return yield* tooLarge
  const files = yield* request.multipartStream.pipe(
    Stream.filter(Multipart.isFile),
    Stream.mapEffect((part) => Effect.map(part.contentEffect, (bytes) => ({ part, bytes }))),
    Stream.runCollect
  )
  const file = Chunk.findFirst(files, ({ part }) => part.key === "file")
  if (Option.isNone(file)) return yield* fault(400, "invalid_file", "the multipart body has no part named `file`")
  return file.value
}).pipe(
  Multipart.withMaxFileSize(Option.some(ATTACHMENT_MAX_BYTES)),
  // By default a part typed application/json is parsed as a form field; an uploaded .json is a file.
  Multipart.withFieldMimeTypes([]),
  Effect.catchTag("MultipartError", (error) =>
    error.reason === "FileTooLarge" || error.reason === "BodyTooLarge"
      ? tooLarge
      : fault(400, "invalid_file", `the multipart body could not be read (${error.reason})`))
)

/** What the routes ask of the guild node they serve (GuildNode is one). */
export interface RoutedNode {
  readonly guild: GuildState
  readonly endpoint: string
  readonly createChannel: (creatorId: string | undefined, body: CreateChannelBody) => Effect.Effect<Channel, SimFault>
  readonly openDm: (userId: string, peerId: string) => Effect.Effect<Channel, SimFault>
  readonly join: (userId: string, channelId: string) => Effect.Effect<Channel, SimFault>
  readonly leave: (userId: string, channelId: string) => Effect.Effect<void, SimFault>
  readonly postMessage: (authorId: string, channelId: string, body: PostMessageBody) => Effect.Effect<Message, SimFault>
  readonly createSubDiscussion: (
    userId: string,
    parentId: string,
    body: { readonly title: string; readonly participant_ids: ReadonlyArray<string>; readonly anchor_message_id?: string | undefined }
  ) => Effect.Effect<SubDiscussion, SimFault>
  readonly setPresence: (userId: string, status: string) => Effect.Effect<void>
  /** v1.1: shows `userId` typing in the channel (emits `typing.started` to its members). */
  readonly startTyping: (userId: string, channelId: string) => Effect.Effect<void, SimFault>
}

export const makeGuildRoutes = (core: SimCore, node: RoutedNode) => {
  const guild = node.guild

  const authenticate = (request: HttpServerRequest.HttpServerRequest) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const token = bearerToken(request)
      if (token === undefined) return fault(401, "invalid_token", "the call carries no `Authorization: Bearer <guild token>`")
      const verified = Jwt.verify(core.secret, token, now)
      if (Either.isLeft(verified)) {
        return verified.left === "token_expired"
          ? fault(401, "token_expired", "the guild token expired: log in again for a fresh one")
          : fault(401, "invalid_token", "the guild token is not valid: log in again for a fresh one")
      }
      const claims = verified.right
      if (claims.guild !== guild.id) {
        return fault(401, "invalid_token", `the token is for guild ${claims.guild}, not for ${guild.id}`)
      }
      return guild.members.has(claims.sub)
        ? Either.right(claims.sub)
        : fault(403, "not_member", `${claims.sub} is not a member of guild ${guild.id}`)
    })

  const authed = <R>(
    route: RouteName,
    handler: (caller: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, SimFault, R>
  ) =>
    Effect.gen(function*() {
      const plan = core.state.takeFault(guild.id, route)
      if (plan !== undefined) return plannedFailure(plan)
      const caller = yield* Effect.flatMap(HttpServerRequest.HttpServerRequest, authenticate)
      return yield* handler(caller)
    }).pipe(Effect.catchTag("SimFault", (error) => Effect.succeed(errorResponse(error))))

  const now = Clock.currentTimeMillis

  /** v1.1 calls are kept for tests (CallLog). */
  const record = (call: Omit<RecordedCall, "at">) => Effect.map(now, (at) => guild.calls.record(call, at))

  return HttpRouter.empty.pipe(
    HttpRouter.get(
      "/api/channels",
      authed("listChannels", (caller) => respond(ChannelList)({ channels: guild.channelsOf(caller) }))
    ),
    HttpRouter.get(
      "/api/channels/:id",
      authed("getChannel", (caller) =>
        idParam.pipe(
          Effect.flatMap((id) => guild.visibleChannel(caller, id)),
          Effect.flatMap((rec) => respond(Channel)(guild.toChannel(rec)))
        ))
    ),
    HttpRouter.post(
      "/api/channels",
      authed("createChannel", (caller) =>
        body(CreateChannelBody).pipe(
          Effect.flatMap((request) => node.createChannel(caller, request)),
          Effect.flatMap(respond(Channel, 201))
        ))
    ),
    HttpRouter.post(
      "/api/channels/:id/join",
      authed("joinChannel", (caller) =>
        idParam.pipe(Effect.flatMap((id) => node.join(caller, id)), Effect.flatMap(respond(Channel))))
    ),
    HttpRouter.post(
      "/api/channels/:id/leave",
      authed("leaveChannel", (caller) =>
        idParam.pipe(Effect.flatMap((id) => node.leave(caller, id)), Effect.zipRight(noContent)))
    ),
    HttpRouter.get(
      "/api/channels/:id/members",
      authed("listMembers", (caller) =>
        idParam.pipe(
          Effect.flatMap((id) => guild.channelMembers(caller, id)),
          Effect.flatMap((members) => respond(MemberList)({ members }))
        ))
    ),
    HttpRouter.post(
      "/api/dms",
      authed("openDm", (caller) =>
        body(CreateDmBody).pipe(
          Effect.flatMap((request) => node.openDm(caller, request.user_id)),
          Effect.flatMap(respond(Channel))
        ))
    ),
    HttpRouter.get(
      "/api/channels/:id/messages",
      authed("listMessages", (caller) =>
        Effect.all({ id: idParam, after: queryParam("after"), before: queryParam("before"), limit: queryParam("limit") })
          .pipe(
            Effect.flatMap(({ id, ...query }) => guild.listMessages(caller, id, query)),
            Effect.flatMap((page) => guild.historyLagMs === 0 ? Effect.succeed(page) : Effect.map(Clock.currentTimeMillis, (now) => ({
              ...page,
              messages: page.messages.filter((m) => Date.parse(m.created_at) <= now - guild.historyLagMs)
            }))),
            Effect.flatMap(respond(MessagePage))
          ))
    ),
    HttpRouter.post(
      "/api/channels/:id/messages",
      authed("postMessage", (caller) =>
        Effect.all([idParam, body(PostMessageBody)]).pipe(
          Effect.flatMap(([id, request]) => node.postMessage(caller, id, request)),
          Effect.flatMap(respond(Message, 201))
        ))
    ),
    HttpRouter.get(
      "/api/channels/:id/canvas",
      authed("getCanvas", (caller) =>
        idParam.pipe(Effect.flatMap((id) => guild.getCanvas(caller, id)), Effect.flatMap(respond(Canvas))))
    ),
    HttpRouter.put(
      "/api/channels/:id/canvas",
      authed("putCanvas", (caller) =>
        Effect.all([idParam, body(PutCanvasBody), now]).pipe(
          Effect.flatMap(([id, request, at]) => guild.putCanvas(caller, id, request.content, request.base_version, at)),
          Effect.flatMap(respond(Canvas))
        ))
    ),
    HttpRouter.get(
      "/api/channels/:id/sub-discussions",
      authed("listSubDiscussions", (caller) =>
        idParam.pipe(
          Effect.flatMap((id) => guild.listSubDiscussions(caller, id)),
          Effect.flatMap((subs) => respond(SubDiscussionList)({ sub_discussions: subs }))
        ))
    ),
    HttpRouter.post(
      "/api/channels/:id/sub-discussions",
      authed("createSubDiscussion", (caller) =>
        Effect.all([idParam, body(CreateSubDiscussionBody)]).pipe(
          Effect.flatMap(([id, request]) => node.createSubDiscussion(caller, id, request)),
          Effect.flatMap(respond(SubDiscussion, 201))
        ))
    ),
    HttpRouter.post(
      "/api/sub-discussions/:id/close",
      authed("closeSubDiscussion", (caller) =>
        Effect.all([idParam, body(CloseSubDiscussionBody)]).pipe(
          Effect.flatMap(([id, request]) => guild.closeSubDiscussion(caller, id, request.summary)),
          Effect.flatMap(respond(SubDiscussion))
        ))
    ),
    HttpRouter.put(
      "/api/presence",
      authed("putPresence", (caller) =>
        body(PutPresenceBody).pipe(
          Effect.tap((request) => record({ route: "putPresence", user_id: caller, status: request.status, activity: request.activity, answered: 204 })),
          Effect.flatMap((request) => node.setPresence(caller, request.status)),
          Effect.zipRight(noContent)
        ))
    ),
    HttpRouter.put(
      "/api/commands",
      authed("putCommands", (caller) =>
        body(PutCommandsBody).pipe(
          Effect.tap((request) => record({ route: "putCommands", user_id: caller, commands: request.commands.map((c) => c.name), answered: 204 })),
          Effect.tap((request) => guild.putCommands(caller, request.commands)),
          Effect.zipRight(noContent)
        ))
    ),
    HttpRouter.post(
      "/api/channels/:id/typing",
      authed("startTyping", (caller) =>
        Effect.gen(function*() {
          const channelId = yield* idParam
          const answer = (status: number) => record({ route: "startTyping", user_id: caller, channel_id: channelId, answered: status })
          if (!guild.calls.typingSupported) {
            yield* answer(404)
            return yield* fault(404, ROUTE_NOT_FOUND_CODE, "this node speaks Fabric v1: it has no typing route")
          }
          yield* node.startTyping(caller, channelId).pipe(Effect.tapError((error) => answer(error.status)))
          yield* answer(204)
          return yield* noContent
        }))
    ),
    HttpRouter.post(
      "/api/attachments",
      authed("uploadAttachment", () =>
        uploadedFile.pipe(
          Effect.map(({ bytes, part }) => guild.addAttachment(part.name, part.contentType, bytes, node.endpoint)),
          Effect.flatMap(respond(Attachment, 201))
        ))
    ),
    HttpRouter.get(
      "/api/attachments/:id",
      authed("downloadAttachment", () =>
        idParam.pipe(
          Effect.flatMap((id) => guild.getAttachment(id)),
          Effect.map(({ attachment, bytes }) => HttpServerResponse.uint8Array(bytes, { contentType: attachment.mime }))
        ))
    ),
    Effect.catchTag("RouteNotFound", (error) =>
      Effect.succeed(errorResponse(
        new SimFault({
          status: 404,
          code: "unknown_route",
          message: `the guild node serves no ${error.request.method} ${error.request.url}`
        })
      )))
  )
}
