/**
 * What a test (in process) or the control API (over HTTP) can make the sim do, and the shapes
 * those controls take and give. Sim.ts implements it; ControlApi.ts serves it.
 */
import type { Effect, Redacted } from "effect"
import type { Channel, Message, RouteName } from "../fabric/FabricContract.js"
import type { SocketInfo, SocketStats } from "./GuildNode.js"
import type { SimListenError } from "./HttpKit.js"
import type { SeedResult, SimSeed } from "./SimSeed.js"
import type { RecordedCall } from "./CallLog.js"
import type { CommandPut, SimFault, SimUser } from "./SimState.js"

export interface SimAgent extends SimUser {
  readonly api_key: Redacted.Redacted<string>
}

export interface SimGuild {
  readonly node_id: string
  readonly name: string
  readonly endpoint: string
}

export interface FailPlan {
  /** A guild node id, or `center` (route `login`). */
  readonly scope: string
  readonly route: RouteName
  readonly status: number
  /** How many calls fail; default 1. */
  readonly count?: number | undefined
  readonly code?: string | undefined
  /** Sent as `Retry-After` (use with 429). */
  readonly retry_after_seconds?: number | undefined
}

export interface PostAs {
  readonly author_id: string
  readonly content: string
  readonly wakeup?: boolean | undefined
  readonly reply_to?: string | undefined
}

export interface IssuedGuildToken {
  readonly token: Redacted.Redacted<string>
  readonly expires_at: string
}

/** Everything the control API (in-process or over HTTP) can do. */
export interface SimControls {
  readonly createUser: (options: { readonly display_name: string; readonly email?: string | undefined }) => Effect.Effect<SimUser>
  readonly createAgent: (options: {
    readonly display_name: string
    readonly email?: string | undefined
    readonly api_key?: string | undefined
  }) => Effect.Effect<SimAgent, SimFault>
  readonly createGuild: (options: { readonly name: string; readonly port?: number | undefined }) => Effect.Effect<SimGuild, SimListenError>
  readonly addMember: (guildId: string, userId: string) => Effect.Effect<void, SimFault>
  readonly createChannel: (guildId: string, options: {
    readonly name: string
    readonly x_type: "group" | "public" | "private"
    readonly member_ids: ReadonlyArray<string>
    readonly created_by?: string | undefined
  }) => Effect.Effect<Channel, SimFault>
  readonly openDm: (guildId: string, userId: string, peerId: string) => Effect.Effect<Channel, SimFault>
  readonly joinChannel: (guildId: string, userId: string, channelId: string) => Effect.Effect<Channel, SimFault>
  readonly leaveChannel: (guildId: string, userId: string, channelId: string) => Effect.Effect<void, SimFault>
  /** Posts as any member, exactly as `POST .../messages` would (events included). */
  readonly postMessage: (guildId: string, channelId: string, post: PostAs) => Effect.Effect<Message, SimFault>
  /**
   * `count` posts from inside the sim (content suffixed ` #n`), for load without HTTP on the
   * sender side: as fast as possible (the event loop turns every 200 posts, so sockets send as
   * they would from a node posting many requests' messages), or paced at `per_second`.
   */
  readonly postBurst: (
    guildId: string,
    channelId: string,
    post: PostAs & { readonly count: number; readonly per_second?: number | undefined }
  ) => Effect.Effect<number, SimFault>
  readonly editMessage: (guildId: string, channelId: string, messageId: string, content: string) => Effect.Effect<Message, SimFault>
  readonly messages: (guildId: string, channelId: string) => Effect.Effect<ReadonlyArray<Message>, SimFault>
  /** Every `PUT /api/commands` the guild received, in order (the node keeps each user's last). */
  readonly commandPuts: (guildId: string) => Effect.Effect<ReadonlyArray<CommandPut>, SimFault>
  readonly setPresence: (guildId: string, userId: string, status: string) => Effect.Effect<void, SimFault>
  /** v1.1 presence, typing and command calls the node received, oldest first. */
  readonly calls: (guildId: string) => Effect.Effect<ReadonlyArray<RecordedCall>, SimFault>
  /** false: the node answers its typing route 404 `not_found`, as a Fabric v1 node. */
  readonly setTypingSupported: (guildId: string, supported: boolean) => Effect.Effect<void, SimFault>
  /** History reads leave out messages younger than `lagMs`: a node whose reads lag its emits. */
  readonly setHistoryLag: (guildId: string, lagMs: number) => Effect.Effect<void, SimFault>
  readonly emitRaw: (guildId: string, userId: string, event: string, payload: unknown) => Effect.Effect<void, SimFault>
  readonly dropSockets: (guildId: string, userId?: string) => Effect.Effect<number, SimFault>
  readonly restartGuild: (guildId: string) => Effect.Effect<void, SimFault | SimListenError>
  /** No event reaches the user for `durationMs` (default: until `resume`); messages are still stored. */
  readonly suppress: (userId: string, durationMs?: number) => Effect.Effect<void>
  readonly resume: (userId: string) => Effect.Effect<void>
  /** Lifetime of tokens issued from now on. */
  readonly setTokenTtl: (seconds: number) => Effect.Effect<void>
  /** A guild token for any member (humans included), e.g. to open a socket as them. */
  readonly issueToken: (guildId: string, userId: string, ttlSeconds?: number) => Effect.Effect<IssuedGuildToken, SimFault>
  readonly loginCount: (userId: string) => Effect.Effect<number>
  readonly socketStats: (guildId: string) => Effect.Effect<SocketStats, SimFault>
  readonly sockets: (guildId: string) => Effect.Effect<ReadonlyArray<SocketInfo>, SimFault>
  readonly failNext: (plan: FailPlan) => Effect.Effect<void>
  readonly seed: (seed: SimSeed) => Effect.Effect<SeedResult, SimFault | SimListenError>
}
