/**
 * The sim's in-memory model: users, guilds, channels, messages, canvases, sub-discussions.
 * No I/O and no clock: callers pass `now`, and every operation answers synchronously with an
 * `Either` whose left is the `SimFault` a guild would send (status + `error.code`). The guild
 * node turns results into HTTP responses and socket events; the control API calls the same
 * operations on behalf of any user.
 *
 * Ids come from one monotonic counter (`m_00000042`), so message ids sort by insertion order
 * and `after=`/`before=` cursors are positions even for ids of another channel.
 */
import { Either, Schema } from "effect"
import type {
  Attachment,
  Canvas,
  Channel,
  ChannelXType,
  CreateChannelBody,
  Member,
  Message,
  MessagePage,
  PostMessageBody,
  SubDiscussion
} from "../fabric/FabricContract.js"
import { HISTORY_LIMIT_MAX, MESSAGE_CONTENT_MAX } from "../fabric/FabricContract.js"
import { CallLog } from "./CallLog.js"

/** A refusal in Fabric's terms: the HTTP status and the `error.code` of the body. */
export class SimFault extends Schema.TaggedError<SimFault>()("SimFault", {
  status: Schema.Number,
  code: Schema.String,
  message: Schema.String,
  current: Schema.optional(Schema.Unknown)
}) {}

type Result<A> = Either.Either<A, SimFault>

export const fault = (status: number, code: string, message: string, current?: unknown): Result<never> =>
  Either.left(new SimFault({ status, code, message, current }))

export type UserKind = "user" | "agent"

export interface SimUser {
  readonly id: string
  readonly display_name: string
  readonly email: string
  readonly kind: UserKind
}

/** Next REST calls of one route that fail on purpose (`failNext`). */
export interface FaultPlan {
  remaining: number
  readonly status: number
  readonly code: string
  readonly retryAfterSeconds?: number | undefined
}

export const DEFAULT_TOKEN_TTL_SECONDS = 900
const HISTORY_LIMIT_DEFAULT = 50

const iso = (ms: number) => new Date(ms).toISOString()

/** Everything the center and the guild nodes share. */
export class SimState {
  readonly users = new Map<string, SimUser>()
  /** api key → agent id */
  readonly apiKeys = new Map<string, string>()
  readonly guilds = new Map<string, GuildState>()
  readonly logins = new Map<string, number>()
  /** user id → epoch ms until which no event reaches that user (Infinity: until resumed). */
  readonly suppressed = new Map<string, number>()
  /** `${scope}:${route}` → plan; scope is a guild id or `center`. */
  readonly faults = new Map<string, FaultPlan>()
  private seq = 0

  constructor(public tokenTtlSeconds: number = DEFAULT_TOKEN_TTL_SECONDS) {}

  nextId(prefix: string): string {
    this.seq += 1
    return `${prefix}_${this.seq.toString().padStart(8, "0")}`
  }

  addUser(kind: UserKind, displayName: string, email: string | undefined): SimUser {
    const id = this.nextId("u")
    const user: SimUser = { id, display_name: displayName, email: email ?? `${id}@sim.invalid`, kind }
    this.users.set(id, user)
    return user
  }

  /** Consumes one planned failure of `route` in `scope`, if any is left. */
  takeFault(scope: string, route: string): FaultPlan | undefined {
    if (this.faults.size === 0) return undefined
    const key = `${scope}:${route}`
    const plan = this.faults.get(key)
    if (plan === undefined) return undefined
    plan.remaining -= 1
    if (plan.remaining <= 0) this.faults.delete(key)
    return plan
  }

  /** Drops suppressed users from a recipient list; the common case (none) costs one check. */
  deliverable(userIds: ReadonlyArray<string>, now: number): ReadonlyArray<string> {
    if (this.suppressed.size === 0) return userIds
    return userIds.filter((id) => !this.isSuppressed(id, now))
  }

  isSuppressed(userId: string, now: number): boolean {
    const until = this.suppressed.get(userId)
    if (until === undefined) return false
    if (until > now) return true
    this.suppressed.delete(userId)
    return false
  }
}

export interface ChannelRec {
  readonly id: string
  readonly name: string
  readonly x_type: ChannelXType
  readonly topic: string | null
  readonly members: Set<string>
  /** Cached `[...members]`, the room list of every emit; cleared when membership changes. */
  memberList: ReadonlyArray<string> | undefined
  readonly messages: Array<Message>
  readonly seqs: Array<number>
  canvas: Canvas
}

export interface StoredAttachment {
  readonly attachment: Attachment
  readonly bytes: Uint8Array
}

export interface SlashCommandDef {
  readonly name: string
  readonly description: string
  readonly options?: ReadonlyArray<{ readonly name: string; readonly description: string; readonly required?: boolean | undefined }> | undefined
}

/** One `PUT /api/commands` as the sim received it. */
export interface CommandPut {
  readonly user_id: string
  readonly commands: ReadonlyArray<SlashCommandDef>
}

export interface MessageQuery {
  readonly after?: string | undefined
  readonly before?: string | undefined
  readonly limit?: string | undefined
}

const messageSeq = (id: string): number | undefined => {
  const match = /^m_(\d+)$/.exec(id)
  return match === null ? undefined : Number(match[1])
}

/** First index whose seq is > `seq` (`strict`) or >= `seq`. */
const bound = (seqs: ReadonlyArray<number>, seq: number, strict: boolean): number => {
  let lo = 0
  let hi = seqs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (strict ? seqs[mid]! <= seq : seqs[mid]! < seq) lo = mid + 1
    else hi = mid
  }
  return lo
}

const parseLimit = (raw: string | undefined): Result<number> => {
  if (raw === undefined) return Either.right(HISTORY_LIMIT_DEFAULT)
  const limit = Number(raw)
  return Number.isInteger(limit) && limit >= 1 && limit <= HISTORY_LIMIT_MAX
    ? Either.right(limit)
    : fault(400, "invalid_limit", `limit must be an integer from 1 to ${HISTORY_LIMIT_MAX}, got "${raw}"`)
}

const parseCursor = (name: "after" | "before", raw: string | undefined): Result<number | undefined> => {
  if (raw === undefined) return Either.right(undefined)
  const seq = messageSeq(raw)
  return seq === undefined
    ? fault(400, `invalid_${name}`, `${name} must be a message id (m_…), got "${raw}"`)
    : Either.right(seq)
}

const contentLength = (content: string): number =>
  content.length <= MESSAGE_CONTENT_MAX ? content.length : Array.from(content).length

/** One guild: its members and everything inside it. */
export class GuildState {
  /**
   * A node whose history reads lag its socket emits by this long (ms): a message is left out of
   * `GET …/messages` until it is this old. 0: none. For the bench's "history behind the socket".
   */
  historyLagMs = 0
  readonly members = new Set<string>()
  readonly channels = new Map<string, ChannelRec>()
  readonly channelsByUser = new Map<string, Set<string>>()
  readonly dms = new Map<string, string>()
  readonly subDiscussions = new Map<string, SubDiscussion>()
  readonly commandsByUser = new Map<string, ReadonlyArray<SlashCommandDef>>()
  /** command name → registering user; rebuilt on every `putCommands`. */
  private commandIndex = new Map<string, string>()
  /** Every `PUT /api/commands`, in order, for tests to assert on (command sync). */
  readonly commandPuts: Array<CommandPut> = []
  /** Messages posted with `wakeup: true`: an edit keeps that reason to wake. */
  private readonly explicitWakeups = new Set<string>()
  readonly presence = new Map<string, string>()
  readonly attachments = new Map<string, StoredAttachment>()
  /** v1.1 presence, typing and command calls, for tests; the v1 typing switch. */
  readonly calls = new CallLog()

  constructor(readonly state: SimState, readonly id: string, readonly name: string) {}

  // -------------------------------------------------------------------------------------------
  // membership

  addMember(userId: string): Result<SimUser> {
    const user = this.state.users.get(userId)
    if (user === undefined) return fault(404, "unknown_user", `no user ${userId} in the sim`)
    this.members.add(userId)
    return Either.right(user)
  }

  memberInfo(userId: string): Member {
    const user = this.state.users.get(userId)
    return { id: userId, display_name: user?.display_name ?? userId, kind: user?.kind ?? "user" }
  }

  private requireGuildMembers(field: string, ids: ReadonlyArray<string>): Result<void> {
    const stranger = ids.find((id) => !this.members.has(id))
    return stranger === undefined
      ? Either.void
      : fault(400, `invalid_${field}`, `${field}: ${stranger} is not a member of guild ${this.id}`)
  }

  // -------------------------------------------------------------------------------------------
  // channels

  toChannel(rec: ChannelRec): Channel {
    return { id: rec.id, name: rec.name, x_type: rec.x_type, topic: rec.topic, member_ids: this.memberList(rec) }
  }

  memberList(rec: ChannelRec): ReadonlyArray<string> {
    return rec.memberList ??= Array.from(rec.members)
  }

  channelsOf(userId: string): ReadonlyArray<Channel> {
    const ids = this.channelsByUser.get(userId)
    return ids === undefined ? [] : Array.from(ids, (id) => this.toChannel(this.channels.get(id)!))
  }

  findChannel(channelId: string): Result<ChannelRec> {
    const rec = this.channels.get(channelId)
    return rec === undefined ? fault(404, "unknown_channel", `no channel ${channelId} in guild ${this.id}`) : Either.right(rec)
  }

  /** The channel, if `userId` is a member of it (else 403 `not_member`). */
  memberChannel(userId: string, channelId: string): Result<ChannelRec> {
    return Either.flatMap(this.findChannel(channelId), (rec) =>
      rec.members.has(userId)
        ? Either.right(rec)
        : fault(403, "not_member", `${userId} is not a member of channel ${channelId}; join it first`))
  }

  /** Public channels can be looked at before joining. */
  visibleChannel(userId: string, channelId: string): Result<ChannelRec> {
    return Either.flatMap(this.findChannel(channelId), (rec) =>
      rec.x_type === "public" ? Either.right(rec) : this.memberChannel(userId, channelId))
  }

  private newChannel(name: string, xType: ChannelXType, memberIds: Iterable<string>, now: number): ChannelRec {
    const id = this.state.nextId("c")
    const rec: ChannelRec = {
      id,
      name,
      x_type: xType,
      topic: null,
      members: new Set(),
      memberList: undefined,
      messages: [],
      seqs: [],
      canvas: { channel_id: id, content: "", version: 0, updated_at: iso(now), updated_by: null }
    }
    this.channels.set(id, rec)
    for (const userId of memberIds) this.link(rec, userId)
    return rec
  }

  private link(rec: ChannelRec, userId: string): boolean {
    if (rec.members.has(userId)) return false
    rec.members.add(userId)
    rec.memberList = undefined
    let ids = this.channelsByUser.get(userId)
    if (ids === undefined) this.channelsByUser.set(userId, ids = new Set())
    ids.add(rec.id)
    return true
  }

  createChannel(creatorId: string | undefined, body: typeof CreateChannelBody.Type, now: number): Result<ChannelRec> {
    if (body.name.trim() === "") return fault(400, "invalid_name", "name must not be empty")
    const memberIds = creatorId === undefined ? body.member_ids : [creatorId, ...body.member_ids]
    return Either.map(this.requireGuildMembers("member_ids", memberIds), () =>
      this.newChannel(body.name, body.x_type, memberIds, now))
  }

  /** `added` is false when the user already was a member (no `channel.joined` then). */
  join(userId: string, channelId: string): Result<{ readonly rec: ChannelRec; readonly added: boolean }> {
    return Either.flatMap(this.findChannel(channelId), (rec) =>
      rec.x_type === "public" || rec.members.has(userId)
        ? Either.right({ rec, added: this.link(rec, userId) })
        : fault(403, "not_public", `channel ${channelId} is ${rec.x_type}: only public channels can be joined`))
  }

  leave(userId: string, channelId: string): Result<boolean> {
    return Either.map(this.findChannel(channelId), (rec) => {
      if (!rec.members.delete(userId)) return false
      rec.memberList = undefined
      this.channelsByUser.get(userId)?.delete(channelId)
      return true
    })
  }

  channelMembers(userId: string, channelId: string): Result<ReadonlyArray<Member>> {
    return Either.map(this.visibleChannel(userId, channelId), (rec) => Array.from(rec.members, (id) => this.memberInfo(id)))
  }

  /** The same pair always gets the same channel; `created` tells whether it is new. */
  openDm(userId: string, peerId: string, now: number): Result<{ readonly rec: ChannelRec; readonly created: boolean }> {
    if (userId === peerId) return fault(400, "invalid_user_id", "user_id must be another user than the caller")
    return Either.map(this.requireGuildMembers("user_id", [peerId]), () => {
      const key = userId < peerId ? `${userId}|${peerId}` : `${peerId}|${userId}`
      const existing = this.dms.get(key)
      if (existing !== undefined) return { rec: this.channels.get(existing)!, created: false }
      const names = [userId, peerId].map((id) => this.memberInfo(id).display_name).join(", ")
      const rec = this.newChannel(names, "dm", [userId, peerId], now)
      this.dms.set(key, rec.id)
      return { rec, created: true }
    })
  }

  // -------------------------------------------------------------------------------------------
  // messages

  listMessages(userId: string, channelId: string, query: MessageQuery): Result<MessagePage> {
    return Either.gen(this, function*() {
      const rec = yield* this.visibleChannel(userId, channelId)
      const limit = yield* parseLimit(query.limit)
      const after = yield* parseCursor("after", query.after)
      const before = yield* parseCursor("before", query.before)
      const lo = after === undefined ? 0 : bound(rec.seqs, after, true)
      const hi = before === undefined ? rec.seqs.length : Math.max(lo, bound(rec.seqs, before, false))
      if (after !== undefined) {
        const end = Math.min(hi, lo + limit)
        return { messages: rec.messages.slice(lo, end), has_more: end < hi }
      }
      const start = Math.max(lo, hi - limit)
      return { messages: rec.messages.slice(start, hi), has_more: start > lo }
    })
  }

  postMessage(authorId: string, channelId: string, body: PostMessageBody, now: number): Result<{
    readonly rec: ChannelRec
    readonly message: Message
  }> {
    return Either.gen(this, function*() {
      if (body.author_id !== authorId) {
        return yield* fault(403, "author_mismatch", `author_id ${body.author_id} is not the caller ${authorId}`)
      }
      const rec = yield* this.memberChannel(authorId, channelId)
      const length = contentLength(body.content)
      if (length === 0) return yield* fault(400, "content_empty", "content must not be empty")
      if (length > MESSAGE_CONTENT_MAX) {
        return yield* fault(400, "content_too_long", `content is ${length} characters, the limit is ${MESSAGE_CONTENT_MAX}`)
      }
      const attachments = yield* this.resolveAttachments(body.attachment_ids)
      const command = this.matchCommand(body.content)
      const id = this.state.nextId("m")
      const message: Message = {
        id,
        channel_id: channelId,
        author_id: authorId,
        author_name: this.memberInfo(authorId).display_name,
        content: body.content,
        // v1.1: a command alone does not set wakeup; its `owner_id` tells whose it is.
        wakeup: body.wakeup === true || this.mentionsAgent(rec, body.content),
        created_at: iso(now),
        reply_to: body.reply_to ?? null,
        attachments,
        command: command ?? null,
        author_kind: this.memberInfo(authorId).kind
      }
      if (body.wakeup === true) this.explicitWakeups.add(id)
      rec.messages.push(message)
      rec.seqs.push(messageSeq(id)!)
      return { rec, message }
    })
  }

  /**
   * Replaces a message's content in place (the control API's way to cause `message.updated`):
   * `edited_at` is set and `wakeup` computed again from the new content (a mention added or
   * removed), keeping a `wakeup: true` the POST asked for.
   */
  editMessage(channelId: string, messageId: string, content: string, now: number): Result<{
    readonly rec: ChannelRec
    readonly message: Message
  }> {
    return Either.flatMap(this.findChannel(channelId), (rec) => {
      const index = rec.messages.findIndex((message) => message.id === messageId)
      if (index < 0) return fault(404, "unknown_message", `no message ${messageId} in channel ${channelId}`)
      const message: Message = {
        ...rec.messages[index]!,
        content,
        wakeup: this.explicitWakeups.has(messageId) || this.mentionsAgent(rec, content),
        edited_at: iso(now)
      }
      rec.messages[index] = message
      return Either.right({ rec, message })
    })
  }

  /** A mention is `@<display_name>` of an agent that is a member of the channel. */
  private mentionsAgent(rec: ChannelRec, content: string): boolean {
    if (!content.includes("@")) return false
    for (const id of rec.members) {
      const user = this.state.users.get(id)
      if (user?.kind === "agent" && content.includes(`@${user.display_name}`)) return true
    }
    return false
  }

  /** `/<name> args…` where `<name>` is a command some member registered in this guild. */
  /**
   * `/<name> args…` where `<name>` is a command some member registered in this guild;
   * `owner_id` is that member (the first to register the name).
   */
  private matchCommand(content: string): { readonly name: string; readonly args: string; readonly owner_id: string } | undefined {
    if (this.commandIndex.size === 0 || !content.startsWith("/")) return undefined
    const name = /^\/(\S+)/.exec(content)?.[1]
    const owner = name === undefined ? undefined : this.commandIndex.get(name)
    if (name === undefined || owner === undefined) return undefined
    return { name, args: content.slice(name.length + 1).trim(), owner_id: owner }
  }

  private resolveAttachments(ids: ReadonlyArray<string> | undefined): Result<ReadonlyArray<Attachment>> {
    if (ids === undefined || ids.length === 0) return Either.right([])
    const found: Array<Attachment> = []
    for (const id of ids) {
      const stored = this.attachments.get(id)
      if (stored === undefined) return fault(400, "invalid_attachment_ids", `attachment_ids: no attachment ${id}; upload it first`)
      found.push(stored.attachment)
    }
    return Either.right(found)
  }

  // -------------------------------------------------------------------------------------------
  // canvas

  getCanvas(userId: string, channelId: string): Result<Canvas> {
    return Either.map(this.visibleChannel(userId, channelId), (rec) => rec.canvas)
  }

  putCanvas(userId: string, channelId: string, content: string, baseVersion: number, now: number): Result<Canvas> {
    return Either.flatMap(this.memberChannel(userId, channelId), (rec) => {
      if (baseVersion !== rec.canvas.version) {
        return fault(
          409,
          "version_conflict",
          `base_version ${baseVersion} is stale: the canvas is at version ${rec.canvas.version}`,
          rec.canvas
        )
      }
      rec.canvas = { channel_id: channelId, content, version: baseVersion + 1, updated_at: iso(now), updated_by: userId }
      return Either.right(rec.canvas)
    })
  }

  // -------------------------------------------------------------------------------------------
  // sub-discussions

  listSubDiscussions(userId: string, channelId: string): Result<ReadonlyArray<SubDiscussion>> {
    return Either.map(
      this.visibleChannel(userId, channelId),
      () => Array.from(this.subDiscussions.values()).filter((sd) => sd.parent_channel_id === channelId)
    )
  }

  createSubDiscussion(
    userId: string,
    parentId: string,
    body: { readonly title: string; readonly participant_ids: ReadonlyArray<string>; readonly anchor_message_id?: string | undefined },
    now: number
  ): Result<{ readonly sub: SubDiscussion; readonly rec: ChannelRec }> {
    return Either.gen(this, function*() {
      yield* this.memberChannel(userId, parentId)
      if (body.title.trim() === "") return yield* fault(400, "invalid_title", "title must not be empty")
      yield* this.requireGuildMembers("participant_ids", body.participant_ids)
      const rec = this.newChannel(body.title, "sub_discussion", [userId, ...body.participant_ids], now)
      const sub: SubDiscussion = {
        id: this.state.nextId("sd"),
        parent_channel_id: parentId,
        channel_id: rec.id,
        title: body.title,
        status: "open",
        participant_ids: this.memberList(rec),
        created_by: userId,
        anchor_message_id: body.anchor_message_id ?? null,
        summary: null
      }
      this.subDiscussions.set(sub.id, sub)
      return { sub, rec }
    })
  }

  closeSubDiscussion(userId: string, subId: string, summary: string | undefined): Result<SubDiscussion> {
    const sub = this.subDiscussions.get(subId)
    if (sub === undefined) return fault(404, "unknown_sub_discussion", `no sub-discussion ${subId} in guild ${this.id}`)
    return Either.map(this.memberChannel(userId, sub.channel_id), () => {
      const closed: SubDiscussion = { ...sub, status: "closed", summary: summary ?? sub.summary ?? null }
      this.subDiscussions.set(subId, closed)
      return closed
    })
  }

  // -------------------------------------------------------------------------------------------
  // presence, commands, attachments

  /** True when the status changed: only a change is an event (`presence.updated`, "someone's presence changed"). */
  setPresence(userId: string, status: string): boolean {
    if (this.presence.get(userId) === status) return false
    this.presence.set(userId, status)
    return true
  }

  putCommands(userId: string, commands: ReadonlyArray<SlashCommandDef>): void {
    this.commandPuts.push({ user_id: userId, commands })
    this.commandsByUser.set(userId, commands)
    this.commandIndex = new Map()
    for (const [owner, defs] of this.commandsByUser) {
      for (const def of defs) if (!this.commandIndex.has(def.name)) this.commandIndex.set(def.name, owner)
    }
  }

  addAttachment(name: string, mime: string, bytes: Uint8Array, endpoint: string): Attachment {
    const id = this.state.nextId("a")
    const attachment: Attachment = {
      id,
      name,
      mime,
      size: bytes.byteLength,
      url: `${endpoint}${attachmentPath(id)}`
    }
    this.attachments.set(id, { attachment, bytes })
    return attachment
  }

  getAttachment(id: string): Result<StoredAttachment> {
    const stored = this.attachments.get(id)
    return stored === undefined ? fault(404, "unknown_attachment", `no attachment ${id} in guild ${this.id}`) : Either.right(stored)
  }
}

/** Where the sim serves an attachment's bytes (the contract leaves `url` to the guild). */
export const attachmentPath = (id: string) => `/api/attachments/${encodeURIComponent(id)}`
