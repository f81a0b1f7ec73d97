/**
 * The Fabric wire contract (fabric-api.md v1) in one module: every path, field name, event
 * name and status rule the plugin speaks. An operator adapting the plugin to a Fabric release
 * that differs changes this file and nothing else. The sim (src/sim) serves the same contract,
 * from the same schemas, so the two cannot drift apart.
 *
 * Decoding ignores unknown fields (Schema's default), as the contract requires.
 */
import { Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// Ids

export const UserId = Schema.String
export const GuildNodeId = Schema.String
export const ChannelId = Schema.String
export const MessageId = Schema.String

// ---------------------------------------------------------------------------------------------
// Center

export class SessionUser extends Schema.Class<SessionUser>("SessionUser")({
  id: UserId,
  email: Schema.optional(Schema.String),
  display_name: Schema.String
}) {}

export class SessionGuild extends Schema.Class<SessionGuild>("SessionGuild")({
  node_id: GuildNodeId,
  name: Schema.String,
  endpoint: Schema.String
}) {}

export class GuildAccessToken extends Schema.Class<GuildAccessToken>("GuildAccessToken")({
  guild_node_id: GuildNodeId,
  token: Schema.Redacted(Schema.String),
  expires_at: Schema.String
}) {}

/** `POST {center}/agents/login` → 200 */
export class Session extends Schema.Class<Session>("Session")({
  user: SessionUser,
  guilds: Schema.Array(SessionGuild),
  guild_access_tokens: Schema.Array(GuildAccessToken)
}) {}

export const LoginRequest = Schema.Struct({ api_key: Schema.Redacted(Schema.String) })

// ---------------------------------------------------------------------------------------------
// Guild resources

export const ChannelXType = Schema.Literal("dm", "group", "public", "private", "sub_discussion")
export type ChannelXType = typeof ChannelXType.Type

export const Channel = Schema.Struct({
  id: ChannelId,
  name: Schema.String,
  x_type: ChannelXType,
  topic: Schema.optional(Schema.NullOr(Schema.String)),
  member_ids: Schema.optional(Schema.Array(UserId))
})
export type Channel = typeof Channel.Type

export const ChannelList = Schema.Struct({ channels: Schema.Array(Channel) })

export const MemberKind = Schema.Literal("user", "agent")
export const Member = Schema.Struct({
  id: UserId,
  display_name: Schema.String,
  kind: MemberKind
})
export type Member = typeof Member.Type
export const MemberList = Schema.Struct({ members: Schema.Array(Member) })

export const Attachment = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  mime: Schema.String,
  size: Schema.Number,
  url: Schema.String
})
export type Attachment = typeof Attachment.Type

/** v1.1: `owner_id`, the user whose registered command this is. */
export const Command = Schema.Struct({
  name: Schema.String,
  args: Schema.String,
  owner_id: Schema.optional(Schema.NullOr(UserId))
})
export type Command = typeof Command.Type

export const Message = Schema.Struct({
  id: MessageId,
  channel_id: ChannelId,
  author_id: UserId,
  author_name: Schema.String,
  content: Schema.String,
  wakeup: Schema.Boolean,
  created_at: Schema.String,
  reply_to: Schema.optional(Schema.NullOr(MessageId)),
  attachments: Schema.optional(Schema.Array(Attachment)),
  command: Schema.optional(Schema.NullOr(Command)),
  // v1.1; absent on a v1 node ("not known").
  author_kind: Schema.optional(Schema.NullOr(MemberKind)),
  edited_at: Schema.optional(Schema.NullOr(Schema.String))
})
export type Message = typeof Message.Type

export const MessagePage = Schema.Struct({
  messages: Schema.Array(Message),
  has_more: Schema.Boolean
})
export type MessagePage = typeof MessagePage.Type

/** v1.1: the code of a route a node does not have (as opposed to an unknown resource). */
export const ROUTE_NOT_FOUND_CODE = "not_found"

/** Contract bounds on message content, checked before a POST so the agent gets a clear error. */
export const MESSAGE_CONTENT_MAX = 4000
export const HISTORY_LIMIT_MAX = 100
export const ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024

export const PostMessageBody = Schema.Struct({
  content: Schema.String,
  author_id: UserId,
  reply_to: Schema.optional(MessageId),
  wakeup: Schema.optional(Schema.Boolean),
  attachment_ids: Schema.optional(Schema.Array(Schema.String))
})
export type PostMessageBody = typeof PostMessageBody.Type

export const CreateChannelBody = Schema.Struct({
  name: Schema.String,
  x_type: Schema.Literal("group", "public", "private"),
  member_ids: Schema.Array(UserId)
})
export type CreateChannelBody = typeof CreateChannelBody.Type

export const CreateDmBody = Schema.Struct({ user_id: UserId })

export const Canvas = Schema.Struct({
  channel_id: ChannelId,
  content: Schema.String,
  version: Schema.Int,
  updated_at: Schema.String,
  updated_by: Schema.NullOr(UserId)
})
export type Canvas = typeof Canvas.Type
export const PutCanvasBody = Schema.Struct({ content: Schema.String, base_version: Schema.Int })

export const SubDiscussionStatus = Schema.Literal("open", "closed")
export const SubDiscussion = Schema.Struct({
  id: Schema.String,
  parent_channel_id: ChannelId,
  channel_id: ChannelId,
  title: Schema.String,
  status: SubDiscussionStatus,
  participant_ids: Schema.Array(UserId),
  created_by: UserId,
  anchor_message_id: Schema.optional(Schema.NullOr(MessageId)),
  summary: Schema.optional(Schema.NullOr(Schema.String))
})
export type SubDiscussion = typeof SubDiscussion.Type
export const SubDiscussionList = Schema.Struct({ sub_discussions: Schema.Array(SubDiscussion) })
export const CreateSubDiscussionBody = Schema.Struct({
  title: Schema.String,
  participant_ids: Schema.Array(UserId),
  anchor_message_id: Schema.optional(MessageId)
})
export const CloseSubDiscussionBody = Schema.Struct({ summary: Schema.optional(Schema.String) })

export const PresenceStatus = Schema.Literal("online", "idle", "dnd", "offline")
export const PutPresenceBody = Schema.Struct({
  status: PresenceStatus,
  activity: Schema.optional(Schema.String)
})

export const SlashCommandOption = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  required: Schema.optional(Schema.Boolean)
})
export const SlashCommand = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  options: Schema.optional(Schema.Array(SlashCommandOption))
})
export const PutCommandsBody = Schema.Struct({ commands: Schema.Array(SlashCommand) })

// ---------------------------------------------------------------------------------------------
// Errors: `{"error": {"code", "message", "current"?}}`

export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String,
    message: Schema.String,
    current: Schema.optional(Schema.Unknown)
  })
})
export type ErrorBody = typeof ErrorBody.Type

/** What the client does with a status (fabric-api.md, the Errors table). */
export type StatusRule = "ok" | "reauth" | "rate_limited" | "transient" | "report"
export const statusRule = (status: number): StatusRule =>
  status >= 200 && status < 300
    ? "ok"
    : status === 401
    ? "reauth"
    : status === 429
    ? "rate_limited"
    : status >= 500
    ? "transient"
    : "report"

export const RETRY_AFTER_HEADER = "retry-after"

// ---------------------------------------------------------------------------------------------
// Paths. Center paths are relative to `center_api_base`; guild paths to the guild `endpoint`.

const seg = encodeURIComponent
export const Paths = {
  login: "/agents/login",
  channels: "/api/channels",
  channel: (id: string) => `/api/channels/${seg(id)}`,
  joinChannel: (id: string) => `/api/channels/${seg(id)}/join`,
  leaveChannel: (id: string) => `/api/channels/${seg(id)}/leave`,
  members: (id: string) => `/api/channels/${seg(id)}/members`,
  dms: "/api/dms",
  messages: (id: string) => `/api/channels/${seg(id)}/messages`,
  canvas: (id: string) => `/api/channels/${seg(id)}/canvas`,
  subDiscussions: (id: string) => `/api/channels/${seg(id)}/sub-discussions`,
  closeSubDiscussion: (id: string) => `/api/sub-discussions/${seg(id)}/close`,
  presence: "/api/presence",
  commands: "/api/commands",
  attachments: "/api/attachments",
  /** v1.1 */
  typing: (id: string) => `/api/channels/${seg(id)}/typing`
} as const

/**
 * Route templates, for span names and metrics: ids never become high-cardinality labels.
 */
export const RouteTemplates = {
  login: "POST /agents/login",
  listChannels: "GET /api/channels",
  getChannel: "GET /api/channels/{id}",
  createChannel: "POST /api/channels",
  joinChannel: "POST /api/channels/{id}/join",
  leaveChannel: "POST /api/channels/{id}/leave",
  listMembers: "GET /api/channels/{id}/members",
  openDm: "POST /api/dms",
  listMessages: "GET /api/channels/{id}/messages",
  postMessage: "POST /api/channels/{id}/messages",
  getCanvas: "GET /api/channels/{id}/canvas",
  putCanvas: "PUT /api/channels/{id}/canvas",
  listSubDiscussions: "GET /api/channels/{id}/sub-discussions",
  createSubDiscussion: "POST /api/channels/{id}/sub-discussions",
  closeSubDiscussion: "POST /api/sub-discussions/{id}/close",
  putPresence: "PUT /api/presence",
  putCommands: "PUT /api/commands",
  uploadAttachment: "POST /api/attachments",
  startTyping: "POST /api/channels/{id}/typing",
  downloadAttachment: "GET {attachment.url}"
} as const
export type RouteName = keyof typeof RouteTemplates

// ---------------------------------------------------------------------------------------------
// socket.io

export const SOCKET_PATH = "/socket.io/"
/** Handshake auth payload: `{"token": "<guild token>"}`. */
export const socketAuth = (token: string) => ({ token })
export const CONNECT_ERROR_UNAUTHORIZED = "unauthorized"
export const ConnectErrorData = Schema.Struct({
  code: Schema.Literal("invalid_token", "token_expired")
})

export const Events = {
  messageCreated: "message.created",
  messageUpdated: "message.updated",
  channelJoined: "channel.joined",
  channelLeft: "channel.left",
  presenceUpdated: "presence.updated",
  /** v1.1; the plugin ignores it. */
  typingStarted: "typing.started"
} as const
export type EventName = (typeof Events)[keyof typeof Events]

export const ChannelLeftPayload = Schema.Struct({ channel_id: ChannelId })
export const PresenceUpdatedPayload = Schema.Struct({ user_id: UserId, status: Schema.String })
