/**
 * How the demo prints the conversation: who said what, where, and how long each hop took
 * (alice's post → the inbound notification at the host → the agent's `send` → the reply's
 * `message.created` in Fabric). Pure formatting.
 */
import type { Message } from "../fabric/FabricContract.js"
import type { EchoHop } from "./EchoAgent.js"

export const ms = (millis: number): string => `${millis.toFixed(1)} ms`

const pad = (text: string, width: number) => text.padStart(width)

/** A long message is shown by its start and its length. */
const preview = (content: string) => {
  const length = Array.from(content).length
  return length <= 200 ? content : `${Array.from(content).slice(0, 100).join("")}… (${length} characters)`
}

export const said = (where: string, author: string, content: string): string => `[${where}] ${author}: ${preview(content)}`

export interface ExchangeTimes {
  readonly postedAt: number
  readonly hop: EchoHop
  readonly reply: Message
  readonly replySeenAt: number
  /** alice was shown the agent typing before its answer (v1.1 typing). */
  readonly typing?: boolean | undefined
  /**
   * The plugin's `coalesce_ms`: a waking message is held until alice has been quiet that long
   * (v1.1 coalescing), so the first hop takes at least this; the transcript says why.
   */
  readonly coalesceMs?: number | undefined
}

/** Why the notification came when it did, and what it carried when it merged several messages. */
const arrival = (times: ExchangeTimes): string => {
  const { coalesceMs, hop } = times
  const ids = hop.messageIds
  // Held on the live path until alice was quiet a window (a catch-up would not hold it).
  const held = coalesceMs !== undefined && coalesceMs > 0 && hop.inboundAt - times.postedAt >= coalesceMs
    ? ` once alice was quiet for coalesce_ms (${coalesceMs} ms)`
    : ""
  if (ids.length <= 1) return `inbound notification at the host${held}`
  return `inbound notification at the host${held}: her ${ids.length} messages as one ` +
    `(message_id ${ids.at(-1)}, coalesced_message_ids ${ids.slice(0, -1).join(", ")})`
}

/**
 * The hops under alice's line (her last one, for a burst), then the agent's line with the
 * total from that line.
 */
export const renderExchange = (where: string, agentName: string, times: ExchangeTimes): string => {
  const { hop, postedAt, reply, replySeenAt } = times
  const parts = /^sent (\d+) messages/.exec(hop.result)?.[1]
  const rows: Array<readonly [number, string]> = [
    [hop.inboundAt - postedAt, `${arrival(times)} (channel ${hop.channelName}, session ${hop.sessionId})` +
      (times.typing === true ? `; alice sees "${agentName} is typing…"` : "")],
    [hop.sendAt - hop.inboundAt, `echo agent calls send (answered in ${ms(hop.sentAt - hop.sendAt)}: ${hop.result})`],
    [replySeenAt - hop.sendAt, `message.created ${reply.id} in Fabric`]
  ]
  const width = Math.max(...rows.map(([t]) => ms(t).length)) + 1
  return [
    ...rows.map(([t, text]) => `   ${pad(`+${ms(t)}`, width + 1)}  ${text}`),
    `${said(where, agentName, reply.content)}   (${ms(replySeenAt - postedAt)} from alice's ${hop.messageIds.length > 1 ? "last message" : "post"})`,
    ...(parts === undefined ? [] : [`   (the answer was over Fabric's 4000 characters: it arrived as ${parts} messages, in order)`])
  ].join("\n")
}
