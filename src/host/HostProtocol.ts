/**
 * The Plexum host protocol (host-protocol.md v1): method names, error codes and the payloads
 * the plugin sends up. The JSON-RPC framing itself is in JsonRpc.ts.
 */
import { Schema } from "effect"
import { Attachment, ChannelXType, Command, Message } from "../fabric/FabricContract.js"

export const SERVER_NAME = "plexum-fabric-channel"
export const LOGGER_NAME = "plexum-fabric-channel"
/** Newest first; the plugin answers with the client's version when it is listed here. */
export const SUPPORTED_PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"] as const

export const Methods = {
  initialize: "initialize",
  initialized: "notifications/initialized",
  manifest: "plexum/manifest",
  toolsList: "tools/list",
  toolsCall: "tools/call",
  ping: "ping",
  setLevel: "logging/setLevel",
  shutdown: "shutdown",
  cancelled: "notifications/cancelled",
  debugFibers: "plexum/debug/fibers",
  // plugin → host
  message: "notifications/message",
  inbound: "notifications/plexum/channel/inbound",
  toolsListChanged: "notifications/tools/list_changed"
} as const

export const ErrorCodes = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  notInitialized: -32002
} as const

export const LogLevel = Schema.Literal("debug", "info", "notice", "warning", "error")
export type LogLevel = typeof LogLevel.Type

/** `notifications/plexum/channel/inbound` params. */
export const InboundFabric = Schema.Struct({
  agent_id: Schema.String,
  guild_node_id: Schema.String,
  channel_id: Schema.String,
  channel_x_type: ChannelXType,
  message_id: Schema.String,
  author_id: Schema.String,
  author_name: Schema.String,
  wakeup: Schema.Boolean,
  created_at: Schema.String,
  reply_to: Schema.optional(Schema.String),
  attachments: Schema.optional(Schema.Array(Attachment)),
  command: Schema.optional(Command),
  // host-protocol.md v1.1; each is absent when empty (or false).
  /** Record-only context: messages not delivered since the agent's own last one, oldest first. */
  history: Schema.optional(Schema.Array(Message)),
  /** The earlier messages of a coalesced burst, oldest first (`message_id` is the newest). */
  coalesced_message_ids: Schema.optional(Schema.Array(Schema.String)),
  /** From a `message.updated` that made a message not delivered before pass the gate and policy. */
  edited: Schema.optional(Schema.Literal(true)),
  /** Delivered after newer messages of the same channel (found by a continuity check or re-sync). */
  late: Schema.optional(Schema.Literal(true))
})
export const Inbound = Schema.Struct({
  channel_name: Schema.String,
  message: Schema.String,
  session_id: Schema.String,
  fabric: InboundFabric
})
export type Inbound = typeof Inbound.Type

/** Until src/inbound imports it from its leaf module (the lead's rewrite): then this line goes. */

// ---------------------------------------------------------------------------------------------
// MCP tool shapes (`tools/list`, `tools/call`)

export interface ToolInfo {
  readonly name: string
  readonly description: string
  /** JSON Schema of the arguments. */
  readonly inputSchema: unknown
}

/** MCP content blocks a tool result carries: text, and (v1.1, `read_attachment`) images. */
export type ContentBlock =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image"; readonly data: string; readonly mimeType: string }

export interface ToolResult {
  readonly content: ReadonlyArray<ContentBlock>
  readonly isError?: boolean
}

/** `tools/call` named no tool of the catalog: answered with -32602. */
export class UnknownTool extends Schema.TaggedError<UnknownTool>()("UnknownTool", { name: Schema.String }) {}
