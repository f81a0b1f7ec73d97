/**
 * `read_attachment` (host-protocol.md, "Tools, v1.1"): lets the agent open a file someone
 * posted. The download carries the agent's guild token, so it goes only to the bound guild's own
 * endpoint (FabricApi refuses any other URL before a request is made). What comes back:
 * text and JSON up to 1 MiB as a text block, images up to 5 MiB as an MCP image block, and for
 * anything else or larger one line saying what the file is and that it was not read.
 */
import { Effect, Encoding, Option, Schema } from "effect"
import { FabricApi } from "../fabric/FabricApi.js"
import type { Attachment } from "../fabric/FabricContract.js"
import * as Args from "./Args.js"
import { orExplain } from "./FabricFailure.js"
import { about, bindingFor, chosenChannel, guildOf } from "./Target.js"
import { defineTool, fail, type ToolOutput } from "./Tool.js"

const MIB = 1024 * 1024
export const TEXT_MAX_BYTES = 1 * MIB
export const IMAGE_MAX_BYTES = 5 * MIB
/** How far back `attachment_id` is looked for in its channel. */
const LOOKUP_MESSAGES = 100

type Kind = "text" | "image" | "other"

/** `text/plain; charset=utf-8` → `text/plain`. */
const baseType = (mime: string | undefined) => mime?.split(";")[0]?.trim().toLowerCase() || undefined

export const kindOf = (mime: string | undefined): Kind => {
  const type = baseType(mime)
  if (type === undefined) return "other"
  if (type.startsWith("text/") || type === "application/json" || type.endsWith("+json")) return "text"
  if (type.startsWith("image/")) return "image"
  return "other"
}

const capOf = (kind: Kind) => (kind === "text" ? TEXT_MAX_BYTES : kind === "image" ? IMAGE_MAX_BYTES : 0)

/** What is known of the file before downloading it. */
interface Wanted {
  readonly name: string
  readonly url: string
  readonly mime?: string | undefined
  readonly size?: number | undefined
}

const sizeText = (size: number | undefined) =>
  size === undefined ? "size unknown" : size >= MIB ? `${(size / MIB).toFixed(1)} MiB` : `${size} bytes`

const notRead = (file: Wanted, mime: string | undefined, size: number | undefined) =>
  `${file.name} (${baseType(mime) ?? "type unknown"}, ${sizeText(size)}): not read. read_attachment returns text and ` +
  `JSON up to 1 MiB and images up to 5 MiB; anything else, or larger, is described only`

const nameFromUrl = (url: string) => {
  try {
    return decodeURIComponent(new URL(url).pathname.split("/").filter((part) => part.length > 0).at(-1) ?? url)
  } catch {
    return url
  }
}

const ReadAttachmentInput = Schema.Struct({
  channel_name: Args.channelName,
  url: Args.optional(Args.Id("The attachment's url, from fabric.attachments of an inbound message.")),
  attachment_id: Args.optional(Args.Id(
    "Instead of url: the attachment's id, looked for in the newest messages of channel_id (or of the session's channel)."
  )),
  channel_id: Args.channelId,
  session_id: Args.sessionId
})

export const readAttachment = defineTool({
  name: "read_attachment",
  description: "Open a file posted in Fabric (an attachment of a message): text and JSON up to 1 MiB come back as " +
    "text, images up to 5 MiB as an image; anything else is described in one line. Give the attachment's url, or its " +
    "attachment_id with the session_id (or channel_id) of the message that carries it.",
  input: ReadAttachmentInput,
  run: (input) =>
    Effect.gen(function*() {
      const binding = yield* bindingFor(input.channel_name)
      const guild = guildOf(binding)
      const fabric = yield* FabricApi
      if ((input.url === undefined) === (input.attachment_id === undefined)) {
        return yield* fail("give exactly one of url and attachment_id")
      }
      let file: Wanted
      if (input.url !== undefined) {
        file = { name: nameFromUrl(input.url), url: input.url }
      } else {
        const channelId = yield* chosenChannel(binding, input)
        const page = yield* fabric.listMessages(guild, channelId, { limit: LOOKUP_MESSAGES }).pipe(
          orExplain(about({ binding, channelId }))
        )
        const found = Option.fromNullable(
          page.messages.flatMap((m) => m.attachments ?? []).find((a: Attachment) => a.id === input.attachment_id)
        )
        if (Option.isNone(found)) {
          return yield* fail(
            `attachment ${input.attachment_id} is not on the newest ${LOOKUP_MESSAGES} messages of channel ${channelId}; ` +
              `pass its url (fabric.attachments of the inbound message) instead`
          )
        }
        file = found.value
      }
      // Known from the message: what will not be read is not downloaded at all.
      if (file.mime !== undefined && file.size !== undefined) {
        const kind = kindOf(file.mime)
        if (kind === "other" || file.size > capOf(kind)) return notRead(file, file.mime, file.size)
      }
      const download = yield* fabric.downloadAttachment(guild, file.url, (served) => capOf(kindOf(file.mime ?? served))).pipe(
        Effect.mapError((error) => error._tag === "FabricError" && error.code === "foreign_url" ? fail(error.message) : error),
        orExplain(about({ binding }, { notFound: `attachment ${file.url} was not found in guild ${binding.guildNodeId}` }))
      )
      const mime = file.mime ?? download.contentType
      const size = file.size ?? download.contentLength
      const kind = kindOf(mime)
      if (kind === "other" || !download.complete) return notRead(file, mime, download.complete ? download.bytes.byteLength : size)
      return (kind === "text"
        ? { content: [{ type: "text", text: new TextDecoder().decode(download.bytes) }] }
        : {
          content: [{ type: "image", data: Encoding.encodeBase64(download.bytes), mimeType: baseType(mime)! }]
        }) satisfies ToolOutput
    })
})

export const readAttachmentTools = [readAttachment] as const
