/**
 * Guild REST calls on behalf of a Plexum agent. The guild token comes from GuildAccessSource
 * (Sessions); a 401 drops the login that issued it and the call is tried once more with a fresh
 * token; 429 and 5xx are retried by FabricHttp as fabric-api.md says.
 */
import { Effect, Schema } from "effect"
import * as C from "./FabricContract.js"
import { FabricError } from "./FabricError.js"
import { type FabricRequest, FabricHttp } from "./FabricHttp.js"
import { type GuildAccess, GuildAccessSource, type SessionError } from "./GuildAccess.js"
import { decodeMessagePage } from "./MessageDecoder.js"
import { annotateSpan, fnWhileTracing } from "../telemetry/Spans.js"

export type FabricCallError = FabricError | SessionError

export interface GuildRef {
  readonly agentId: string
  readonly guildNodeId: string
}

/** One string per (agent, guild), for maps keyed by it. */
export const guildKey = (ref: GuildRef): string => `${ref.agentId}\u0000${ref.guildNodeId}`

export interface HistoryQuery {
  readonly after?: string
  readonly before?: string
  readonly limit?: number
}

/** A guild request without where it goes and with what token: GuildAccessSource decides those. */
type GuildRequest<A, I> = Omit<FabricRequest<A, I>, "base" | "target" | "token">

/** Counted as Fabric counts: in Unicode code points. */
const contentLength = (content: string) => Array.from(content).length

const rejected = (route: C.RouteName, code: string, message: string) =>
  new FabricError({ route: C.RouteTemplates[route], reason: "bad_request", code, message })

const checkContent = (content: string) => {
  const length = contentLength(content)
  return length === 0
    ? Effect.fail(rejected("postMessage", "content_empty", "the message is empty; write 1 to 4000 characters"))
    : length > C.MESSAGE_CONTENT_MAX
    ? Effect.fail(
      rejected(
        "postMessage",
        "content_too_long",
        `the message has ${length} characters, Fabric takes at most ${C.MESSAGE_CONTENT_MAX}; shorten it or send it in parts`
      )
    )
    : Effect.void
}

const checkLimit = (limit: number | undefined) =>
  limit === undefined || (Number.isInteger(limit) && limit >= 1 && limit <= C.HISTORY_LIMIT_MAX)
    ? Effect.void
    : Effect.fail(rejected("listMessages", "invalid_limit", `limit must be an integer from 1 to ${C.HISTORY_LIMIT_MAX}, not ${limit}`))

const checkSize = (name: string, bytes: Uint8Array) =>
  bytes.byteLength <= C.ATTACHMENT_MAX_BYTES
    ? Effect.void
    : Effect.fail(
      new FabricError({
        route: C.RouteTemplates.uploadAttachment,
        reason: "too_large",
        message: `${name} has ${bytes.byteLength} bytes, Fabric takes at most ${C.ATTACHMENT_MAX_BYTES} (25 MiB); send a smaller file`
      })
    )

const decodeCanvas = Schema.decodeUnknownOption(C.Canvas)

/** A stale `base_version`: say which version is current, so the caller can redo its edit. */
const staleCanvas = (channelId: string, baseVersion: number) => (error: FabricError) => {
  if (error.reason !== "conflict") return error
  const current = decodeCanvas(error.current)
  return error.withMessage(
    `the canvas of channel ${channelId} changed since version ${baseVersion}` +
      (current._tag === "Some" ? ` (it is at version ${current.value.version})` : "") +
      `; read it again, apply the change to the current content, and save with its version`,
    current._tag === "Some" ? current.value : error.current
  )
}

const unauthorizedTwice = (ref: GuildRef) => (error: FabricError) =>
  error.reason === "unauthorized"
    ? error.withMessage(
      `guild ${ref.guildNodeId} refused a token the center had just issued to agent ${ref.agentId} (401${
        error.code === undefined ? "" : ` ${error.code}`
      }); check that the center and the guild node share their signing key and that their clocks agree`
    )
    : error

/**
 * `url` parsed, when it is on `endpoint` (same scheme, host and port; `localhost` is not
 * `127.0.0.1`); else undefined. What decides where a guild token may be sent.
 */
export const onEndpoint = (url: string, endpoint: string): URL | undefined => {
  try {
    const target = new URL(url)
    const own = new URL(endpoint)
    return target.protocol === own.protocol && target.host === own.host ? target : undefined
  } catch {
    return undefined
  }
}

export class FabricApi extends Effect.Service<FabricApi>()("plexum-fabric/FabricApi", {
  effect: Effect.gen(function*() {
    const sessions = yield* GuildAccessSource
    const http = yield* FabricHttp
    const policy = sessions.policy

    const send = <A, I>(access: GuildAccess, request: GuildRequest<A, I>) =>
      http.request({ ...request, base: access.endpoint, target: `guild ${access.guildNodeId}`, token: access.token, policy })

    /**
     * One guild exchange. A 401 means the token expired or was revoked: drop exactly the login
     * that issued it (other callers may already hold a newer one) and try once more.
     */
    const withAccess = <A>(ref: GuildRef, exchange: (access: GuildAccess) => Effect.Effect<A, FabricError>): Effect.Effect<A, FabricCallError> =>
      Effect.gen(function*() {
        const access = yield* sessions.guild(ref.agentId, ref.guildNodeId)
        return yield* exchange(access).pipe(
          Effect.catchIf((error) => error.reason === "unauthorized", () =>
            Effect.gen(function*() {
              yield* Effect.logDebug(`guild ${ref.guildNodeId} refused the token of agent ${ref.agentId}; logging in again`)
              yield* sessions.invalidate(ref.agentId, access.generation)
              const fresh = yield* sessions.guild(ref.agentId, ref.guildNodeId)
              return yield* exchange(fresh).pipe(Effect.mapError(unauthorizedTwice(ref)))
            }))
        )
      })

    /** One guild call with a JSON answer. */
    const call = <A, I>(ref: GuildRef, request: (access: GuildAccess) => GuildRequest<A, I>): Effect.Effect<A, FabricCallError> =>
      withAccess(ref, (access) => send(access, request(access)))

    const annotate = (ref: GuildRef, channelId?: string) =>
      annotateSpan(
        channelId === undefined
          ? { agent: ref.agentId, guild: ref.guildNodeId }
          : { agent: ref.agentId, guild: ref.guildNodeId, channel: channelId }
      )

    /** The types already hold every body to its schema: a failure here is a bug. */
    const encode = <A, I>(schema: Schema.Schema<A, I>, value: A): Effect.Effect<I> => Effect.orDie(Schema.encode(schema)(value))

    const listChannels = fnWhileTracing("FabricApi.listChannels")(Effect.fnUntraced(function*(g: GuildRef) {
      yield* annotate(g)
      const list = yield* call(g, () => ({ route: "listChannels", path: C.Paths.channels, response: C.ChannelList }))
      return list.channels
    }))

    const getChannel = fnWhileTracing("FabricApi.getChannel")(Effect.fnUntraced(function*(g: GuildRef, channelId: string) {
      yield* annotate(g, channelId)
      return yield* call(g, () => ({ route: "getChannel", path: C.Paths.channel(channelId), response: C.Channel }))
    }))

    const createChannel = fnWhileTracing("FabricApi.createChannel")(Effect.fnUntraced(function*(g: GuildRef, body: C.CreateChannelBody) {
      yield* annotate(g)
      const json = yield* encode(C.CreateChannelBody, body)
      return yield* call(g, () => ({ route: "createChannel", path: C.Paths.channels, json, response: C.Channel }))
    }))

    const joinChannel = fnWhileTracing("FabricApi.joinChannel")(Effect.fnUntraced(function*(g: GuildRef, channelId: string) {
      yield* annotate(g, channelId)
      return yield* call(g, () => ({ route: "joinChannel", path: C.Paths.joinChannel(channelId), response: C.Channel }))
    }))

    const leaveChannel = fnWhileTracing("FabricApi.leaveChannel")(Effect.fnUntraced(function*(g: GuildRef, channelId: string) {
      yield* annotate(g, channelId)
      return yield* call(g, () => ({ route: "leaveChannel", path: C.Paths.leaveChannel(channelId), response: Schema.Void }))
    }))

    const listMembers = fnWhileTracing("FabricApi.listMembers")(Effect.fnUntraced(function*(g: GuildRef, channelId: string) {
      yield* annotate(g, channelId)
      const list = yield* call(g, () => ({ route: "listMembers", path: C.Paths.members(channelId), response: C.MemberList }))
      return list.members
    }))

    const openDm = fnWhileTracing("FabricApi.openDm")(Effect.fnUntraced(function*(g: GuildRef, userId: string) {
      yield* annotate(g)
      const json = yield* encode(C.CreateDmBody, { user_id: userId })
      return yield* call(g, () => ({ route: "openDm", path: C.Paths.dms, json, response: C.Channel }))
    }))

    const listMessages = fnWhileTracing("FabricApi.listMessages")(Effect.fnUntraced(function*(g: GuildRef, channelId: string, query: HistoryQuery) {
      yield* annotate(g, channelId)
      yield* checkLimit(query.limit)
      const urlParams = { after: query.after, before: query.before, limit: query.limit?.toString() }
      return yield* call(g, () => ({ route: "listMessages", path: C.Paths.messages(channelId), urlParams, response: C.MessagePage, decode: decodeMessagePage }))
    }))

    /** `author_id` is filled in from the session. */
    const postMessage = fnWhileTracing("FabricApi.postMessage")(Effect.fnUntraced(
      function*(g: GuildRef, channelId: string, body: Omit<C.PostMessageBody, "author_id">) {
        yield* annotate(g, channelId)
        yield* checkContent(body.content)
        return yield* call(g, (access) => ({
          route: "postMessage",
          path: C.Paths.messages(channelId),
          json: { ...body, author_id: access.userId } satisfies C.PostMessageBody,
          response: C.Message
        }))
      }
    ))

    const getCanvas = fnWhileTracing("FabricApi.getCanvas")(Effect.fnUntraced(function*(g: GuildRef, channelId: string) {
      yield* annotate(g, channelId)
      return yield* call(g, () => ({ route: "getCanvas", path: C.Paths.canvas(channelId), response: C.Canvas }))
    }))

    const putCanvas = fnWhileTracing("FabricApi.putCanvas")(Effect.fnUntraced(function*(g: GuildRef, channelId: string, content: string, baseVersion: number) {
      yield* annotate(g, channelId)
      const json = yield* encode(C.PutCanvasBody, { content, base_version: baseVersion })
      return yield* call(g, () => ({ route: "putCanvas", path: C.Paths.canvas(channelId), json, response: C.Canvas })).pipe(
        Effect.mapError((error) => error._tag === "FabricError" ? staleCanvas(channelId, baseVersion)(error) : error)
      )
    }))

    const listSubDiscussions = fnWhileTracing("FabricApi.listSubDiscussions")(Effect.fnUntraced(function*(g: GuildRef, channelId: string) {
      yield* annotate(g, channelId)
      const list = yield* call(g, () => ({
        route: "listSubDiscussions",
        path: C.Paths.subDiscussions(channelId),
        response: C.SubDiscussionList
      }))
      return list.sub_discussions
    }))

    const createSubDiscussion = fnWhileTracing("FabricApi.createSubDiscussion")(Effect.fnUntraced(function*(
      g: GuildRef,
      channelId: string,
      body: { readonly title: string; readonly participant_ids: ReadonlyArray<string>; readonly anchor_message_id?: string }
    ) {
      yield* annotate(g, channelId)
      const json = yield* encode(C.CreateSubDiscussionBody, body)
      return yield* call(g, () => ({
        route: "createSubDiscussion",
        path: C.Paths.subDiscussions(channelId),
        json,
        response: C.SubDiscussion
      }))
    }))

    const closeSubDiscussion = fnWhileTracing("FabricApi.closeSubDiscussion")(Effect.fnUntraced(function*(g: GuildRef, subDiscussionId: string, summary?: string) {
      yield* annotate(g)
      yield* annotateSpan({ sub_discussion: subDiscussionId })
      const json = yield* encode(C.CloseSubDiscussionBody, summary === undefined ? {} : { summary })
      return yield* call(g, () => ({
        route: "closeSubDiscussion",
        path: C.Paths.closeSubDiscussion(subDiscussionId),
        json,
        response: C.SubDiscussion
      }))
    }))

    const putPresence = fnWhileTracing("FabricApi.putPresence")(Effect.fnUntraced(
      function*(g: GuildRef, status: "online" | "idle" | "dnd" | "offline", activity?: string) {
        yield* annotate(g)
        const json = yield* encode(C.PutPresenceBody, activity === undefined ? { status } : { status, activity })
        return yield* call(g, () => ({ route: "putPresence", path: C.Paths.presence, json, response: Schema.Void }))
      }
    ))

    const putCommands = fnWhileTracing("FabricApi.putCommands")(Effect.fnUntraced(function*(g: GuildRef, commands: typeof C.PutCommandsBody.Type["commands"]) {
      yield* annotate(g)
      const json = yield* encode(C.PutCommandsBody, { commands })
      return yield* call(g, () => ({ route: "putCommands", path: C.Paths.commands, json, response: Schema.Void }))
    }))

    const uploadAttachment = fnWhileTracing("FabricApi.uploadAttachment")(Effect.fnUntraced(function*(g: GuildRef, name: string, mime: string, bytes: Uint8Array) {
      yield* annotate(g)
      yield* checkSize(name, bytes)
      const formData = new FormData()
      formData.append("file", new Blob([new Uint8Array(bytes)], { type: mime }), name)
      return yield* call(g, () => ({ route: "uploadAttachment", path: C.Paths.attachments, formData, response: C.Attachment }))
    }))

    /** v1.1. A v1 node answers 404 `not_found` (ROUTE_NOT_FOUND_CODE): the caller stops asking it. */
    const startTyping = fnWhileTracing("FabricApi.startTyping")(Effect.fnUntraced(function*(g: GuildRef, channelId: string) {
      yield* annotate(g, channelId)
      return yield* call(g, () => ({ route: "startTyping", path: C.Paths.typing(channelId), response: Schema.Void }))
    }))

    /**
     * The bytes of an attachment, reading at most `capFor(content type)` (never more than
     * 25 MiB). The token goes only to the guild's own endpoint: a URL elsewhere fails before
     * any request is made to it.
     */
    const downloadAttachment = fnWhileTracing("FabricApi.downloadAttachment")(Effect.fnUntraced(function*(
      g: GuildRef,
      url: string,
      capFor: (contentType: string | undefined) => number
    ) {
      yield* annotate(g)
      return yield* withAccess(g, (access) => {
        const target = onEndpoint(url, access.endpoint)
        if (target === undefined) {
          return Effect.fail(rejected(
            "downloadAttachment",
            "foreign_url",
            `${url} is not on the endpoint of guild ${g.guildNodeId}; only its own attachment URLs are downloaded`
          ))
        }
        return http.download({
          route: "downloadAttachment",
          base: target.origin,
          path: `${target.pathname}${target.search}`,
          target: `guild ${access.guildNodeId}`,
          token: access.token,
          policy
        }, (contentType) => Math.min(capFor(contentType), C.ATTACHMENT_MAX_BYTES))
      })
    }))

    return {
      startTyping,
      downloadAttachment,
      listChannels,
      getChannel,
      createChannel,
      joinChannel,
      leaveChannel,
      listMembers,
      openDm,
      listMessages,
      postMessage,
      getCanvas,
      putCanvas,
      listSubDiscussions,
      createSubDiscussion,
      closeSubDiscussion,
      putPresence,
      putCommands,
      uploadAttachment
    } as const
  }),
  dependencies: [FabricHttp.Default]
}) {}
