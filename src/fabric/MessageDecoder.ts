/**
 * The decoder of a `Message` (FabricContract.ts) for the paths that read messages by the
 * thousand: socket events and history pages. Written out by hand, it answers what
 * `Schema.decodeUnknownEither(Message)` answers for a JSON payload (a property test holds the two
 * equal): a fresh object with the contract's fields only, or nothing. The Schema decoder builds
 * a parse result per field and allocated a third of every message's bytes on the hot path; this
 * reads each field once. When it answers nothing, the caller asks the Schema for the words of
 * the error, so a malformed payload is described exactly as before.
 */
import type { Attachment, Command, Message, MessagePage } from "./FabricContract.js"

type Fields = Record<string, unknown>

const isObject = (u: unknown): u is Fields => typeof u === "object" && u !== null && !Array.isArray(u)
const isStringOrNull = (u: unknown): u is string | null => u === null || typeof u === "string"

const decodeAttachment = (u: unknown): Attachment | undefined => {
  if (!isObject(u)) return undefined
  const { id, mime, name, size, url } = u
  if (typeof id !== "string" || typeof name !== "string" || typeof mime !== "string" || typeof size !== "number" || typeof url !== "string") {
    return undefined
  }
  return { id, name, mime, size, url }
}

const decodeAttachments = (u: unknown): Array<Attachment> | undefined => {
  if (!Array.isArray(u)) return undefined
  const out: Array<Attachment> = []
  for (const item of u) {
    const attachment = decodeAttachment(item)
    if (attachment === undefined) return undefined
    out.push(attachment)
  }
  return out
}

const decodeCommand = (u: unknown): Command | undefined => {
  if (!isObject(u)) return undefined
  const { args, name, owner_id } = u
  if (typeof name !== "string" || typeof args !== "string") return undefined
  if (owner_id === undefined) return { name, args }
  return isStringOrNull(owner_id) ? { name, args, owner_id } : undefined
}

/** The payload as a `Message`, or undefined when it does not match the contract. */
export const decodeMessage = (u: unknown): Message | undefined => {
  if (!isObject(u)) return undefined
  const { author_id, author_name, channel_id, content, created_at, id, wakeup } = u
  if (
    typeof id !== "string" || typeof channel_id !== "string" || typeof author_id !== "string" ||
    typeof author_name !== "string" || typeof content !== "string" || typeof wakeup !== "boolean" ||
    typeof created_at !== "string"
  ) return undefined
  const message: {
    -readonly [K in keyof Message]: Message[K]
  } = { id, channel_id, author_id, author_name, content, wakeup, created_at }
  const { attachments, author_kind, command, edited_at, reply_to } = u
  if (reply_to !== undefined) {
    if (!isStringOrNull(reply_to)) return undefined
    message.reply_to = reply_to
  }
  if (attachments !== undefined) {
    const decoded = decodeAttachments(attachments)
    if (decoded === undefined) return undefined
    message.attachments = decoded
  }
  if (command !== undefined) {
    if (command === null) message.command = null
    else {
      const decoded = decodeCommand(command)
      if (decoded === undefined) return undefined
      message.command = decoded
    }
  }
  if (author_kind !== undefined) {
    if (author_kind !== null && author_kind !== "user" && author_kind !== "agent") return undefined
    message.author_kind = author_kind
  }
  if (edited_at !== undefined) {
    if (!isStringOrNull(edited_at)) return undefined
    message.edited_at = edited_at
  }
  return message
}

/** A history page (`GET …/messages`) as a `MessagePage`, or undefined when it does not match. */
export const decodeMessagePage = (u: unknown): MessagePage | undefined => {
  if (!isObject(u)) return undefined
  const { has_more, messages } = u
  if (!Array.isArray(messages) || typeof has_more !== "boolean") return undefined
  const decoded: Array<Message> = []
  for (const item of messages) {
    const message = decodeMessage(item)
    if (message === undefined) return undefined
    decoded.push(message)
  }
  return { messages: decoded, has_more }
}
