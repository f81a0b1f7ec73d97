/**
 * STUB — owned by the fabric/sessions helper. Signature is the contract other modules rely on.
 * Guild REST calls on behalf of a Plexum agent: the guild token comes from Sessions; a 401
 * invalidates the session and retries once; 429 / 5xx are retried as fabric-api.md says.
 */
import { Effect } from "effect"
import type * as C from "./FabricContract.js"
import type { FabricError } from "./FabricError.js"
import type { SessionError } from "../sessions/Sessions.js"

export type FabricCallError = FabricError | SessionError

export interface GuildRef {
  readonly agentId: string
  readonly guildNodeId: string
}

export interface HistoryQuery {
  readonly after?: string
  readonly before?: string
  readonly limit?: number
}

const todo = (name: string) => (..._args: ReadonlyArray<unknown>): Effect.Effect<never, FabricCallError> =>
  Effect.dieMessage(`FabricApi.${name}: not implemented`)

export class FabricApi extends Effect.Service<FabricApi>()("plexum-fabric/FabricApi", {
  succeed: {
    listChannels: todo("listChannels") as (g: GuildRef) => Effect.Effect<ReadonlyArray<C.Channel>, FabricCallError>,
    getChannel: todo("getChannel") as (g: GuildRef, channelId: string) => Effect.Effect<C.Channel, FabricCallError>,
    createChannel: todo("createChannel") as (g: GuildRef, body: C.CreateChannelBody) => Effect.Effect<C.Channel, FabricCallError>,
    joinChannel: todo("joinChannel") as (g: GuildRef, channelId: string) => Effect.Effect<C.Channel, FabricCallError>,
    leaveChannel: todo("leaveChannel") as (g: GuildRef, channelId: string) => Effect.Effect<void, FabricCallError>,
    listMembers: todo("listMembers") as (g: GuildRef, channelId: string) => Effect.Effect<ReadonlyArray<C.Member>, FabricCallError>,
    openDm: todo("openDm") as (g: GuildRef, userId: string) => Effect.Effect<C.Channel, FabricCallError>,
    listMessages: todo("listMessages") as (g: GuildRef, channelId: string, query: HistoryQuery) => Effect.Effect<C.MessagePage, FabricCallError>,
    /** `author_id` is filled in from the session. */
    postMessage: todo("postMessage") as (
      g: GuildRef,
      channelId: string,
      body: Omit<C.PostMessageBody, "author_id">
    ) => Effect.Effect<C.Message, FabricCallError>,
    getCanvas: todo("getCanvas") as (g: GuildRef, channelId: string) => Effect.Effect<C.Canvas, FabricCallError>,
    putCanvas: todo("putCanvas") as (g: GuildRef, channelId: string, content: string, baseVersion: number) => Effect.Effect<C.Canvas, FabricCallError>,
    listSubDiscussions: todo("listSubDiscussions") as (g: GuildRef, channelId: string) => Effect.Effect<ReadonlyArray<C.SubDiscussion>, FabricCallError>,
    createSubDiscussion: todo("createSubDiscussion") as (
      g: GuildRef,
      channelId: string,
      body: { readonly title: string; readonly participant_ids: ReadonlyArray<string>; readonly anchor_message_id?: string }
    ) => Effect.Effect<C.SubDiscussion, FabricCallError>,
    closeSubDiscussion: todo("closeSubDiscussion") as (g: GuildRef, subDiscussionId: string, summary?: string) => Effect.Effect<C.SubDiscussion, FabricCallError>,
    putPresence: todo("putPresence") as (g: GuildRef, status: "online" | "idle" | "dnd" | "offline", activity?: string) => Effect.Effect<void, FabricCallError>,
    putCommands: todo("putCommands") as (g: GuildRef, commands: typeof C.PutCommandsBody.Type["commands"]) => Effect.Effect<void, FabricCallError>,
    uploadAttachment: todo("uploadAttachment") as (g: GuildRef, name: string, mime: string, bytes: Uint8Array) => Effect.Effect<C.Attachment, FabricCallError>
  }
}) {}
