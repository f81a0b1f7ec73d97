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
}

/** The hops under alice's line, then the agent's line with the total. */
export const renderExchange = (where: string, agentName: string, times: ExchangeTimes): string => {
  const { hop, postedAt, reply, replySeenAt } = times
  const parts = /^sent (\d+) messages/.exec(hop.result)?.[1]
  const rows: Array<readonly [number, string]> = [
    [hop.inboundAt - postedAt, `inbound notification at the host (channel ${hop.channelName}, session ${hop.sessionId})` +
      (times.typing === true ? `; alice sees "${agentName} is typing…"` : "")],
    [hop.sendAt - hop.inboundAt, `echo agent calls send (answered in ${ms(hop.sentAt - hop.sendAt)}: ${hop.result})`],
    [replySeenAt - hop.sendAt, `message.created ${reply.id} in Fabric`]
  ]
  const width = Math.max(...rows.map(([t]) => ms(t).length)) + 1
  return [
    ...rows.map(([t, text]) => `   ${pad(`+${ms(t)}`, width + 1)}  ${text}`),
    `${said(where, agentName, reply.content)}   (${ms(replySeenAt - postedAt)} from alice's post)`,
    ...(parts === undefined ? [] : [`   (the answer was over Fabric's 4000 characters: it arrived as ${parts} messages, in order)`])
  ].join("\n")
}
