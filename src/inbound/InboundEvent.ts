/**
 * Decoding of guild socket events (fabric-api.md, "Guild node socket.io"). Pure: an event that
 * does not match the contract becomes a `Malformed` the caller logs and drops, so one bad event
 * never ends a session.
 */
import { Data, Either, ParseResult, Schema } from "effect"
import {
  Channel,
  ChannelLeftPayload,
  Events,
  Message
} from "../fabric/FabricContract.js"
import { decodeMessage } from "../fabric/MessageDecoder.js"

/** A message body larger than this is dropped undelivered: no agent turn should carry it. */
export const MAX_CONTENT_BYTES = 1024 * 1024

/**
 * A decoded event: plain objects, made once per message on the hot path (no structural
 * equality is asked of them, so no `Data` constructor, and no `Either` around them).
 */
export type InboundEvent =
  | { readonly _tag: "MessageCreated"; readonly message: Message }
  | { readonly _tag: "MessageUpdated"; readonly message: Message }
  | { readonly _tag: "ChannelJoined"; readonly channel: Channel }
  | { readonly _tag: "ChannelLeft"; readonly channelId: string }

/**
 * The socket events inbound delivery decides, the only ones a session's socket buffers:
 * presence and typing events (a burst of them at every reconnect storm, one per member per
 * presence change) and events of later contract versions never wake a session.
 */
export const INBOUND_EVENTS: ReadonlySet<string> = new Set([
  Events.messageCreated,
  Events.messageUpdated,
  Events.channelJoined,
  Events.channelLeft
])

/** Why an event was dropped, in one line fit for a warning (no message content in it). */
export class Malformed extends Data.TaggedClass("Malformed")<{
  readonly event: string
  readonly problem: string
}> {}

const MAX_PROBLEM_CHARS = 300

const describe = (error: ParseResult.ParseError): string => {
  const text = ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(payload)"}: ${issue.message}`)
    .join("; ")
  return text.length > MAX_PROBLEM_CHARS ? `${text.slice(0, MAX_PROBLEM_CHARS)}…` : text
}

const decoder = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema)
  return (event: string, payload: unknown): A | Malformed => {
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      return new Malformed({ event, problem: "the payload is not a JSON object" })
    }
    const decoded = decode(payload)
    return Either.isRight(decoded) ? decoded.right : new Malformed({ event, problem: describe(decoded.left) })
  }
}

const contentBytes = (content: string) =>
  // Every UTF-16 unit is at most 3 UTF-8 bytes: most messages skip the exact count.
  content.length * 3 <= MAX_CONTENT_BYTES ? content.length : Buffer.byteLength(content, "utf8")

/** The Schema decoder, asked only for the words of an error: `decodeMessage` decides. */
const describeMessage = decoder(Message)

const decodeMessageEvent = (event: string, payload: unknown): Message | Malformed => {
  const message = decodeMessage(payload)
  if (message === undefined) return describeMessage(event, payload)
  return contentBytes(message.content) > MAX_CONTENT_BYTES
    ? new Malformed({
      event,
      problem: `message ${message.id} in channel ${message.channel_id} has content over ${MAX_CONTENT_BYTES} bytes`
    })
    : message
}

const decodeChannel = decoder(Channel)
const decodeChannelLeft = decoder(ChannelLeftPayload)

/** `decoded` as the event `make` builds of it, or the `Malformed` that says why not. */
const eventOf = <A>(decoded: A | Malformed, make: (a: A) => InboundEvent): InboundEvent | Malformed =>
  decoded instanceof Malformed ? decoded : make(decoded)
const created = (message: Message): InboundEvent => ({ _tag: "MessageCreated", message })
const updated = (message: Message): InboundEvent => ({ _tag: "MessageUpdated", message })
const joined = (channel: Channel): InboundEvent => ({ _tag: "ChannelJoined", channel })
const left = (payload: typeof ChannelLeftPayload.Type): InboundEvent => ({ _tag: "ChannelLeft", channelId: payload.channel_id })

/** One socket event (name and first argument) into an `InboundEvent`, or why not. */
export const decodeEvent = (name: string, payload: unknown): InboundEvent | Malformed => {
  switch (name) {
    case Events.messageCreated:
      return eventOf(decodeMessageEvent(name, payload), created)
    case Events.messageUpdated:
      return eventOf(decodeMessageEvent(name, payload), updated)
    case Events.channelJoined:
      return eventOf(decodeChannel(name, payload), joined)
    case Events.channelLeft:
      return eventOf(decodeChannelLeft(name, payload), left)
    default:
      return new Malformed({ event: name, problem: "not an event of the Fabric contract" })
  }
}
