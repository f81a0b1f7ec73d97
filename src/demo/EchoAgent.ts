/**
 * The demo's agent: answers every inbound notification with `send`, echoing the text. It
 * passes the notification's `session_id`, so the reply lands in the Fabric channel the message
 * came from (a DM stays a DM), and records when each hop happened for the transcript.
 */
import { Duration, Effect, Option, Stream, SubscriptionRef } from "effect"
import { DemoError } from "./DemoError.js"
import { Methods } from "../host/HostProtocol.js"
import { nowMs, type PluginHost, type TimedInbound } from "./PluginHost.js"

export interface EchoHop {
  readonly channelName: string
  readonly sessionId: string
  /**
   * The Fabric message ids the notification carried, oldest first: the earlier ones of a
   * coalesced burst (`fabric.coalesced_message_ids`), then `fabric.message_id`.
   */
  readonly messageIds: ReadonlyArray<string>
  /** The host read the inbound notification. */
  readonly inboundAt: number
  /** The agent called `send`. */
  readonly sendAt: number
  /** The `send` result arrived. */
  readonly sentAt: number
  /** The tool's own text: the new message id, or what went wrong. */
  readonly result: string
  readonly failed: boolean
}

export const echoText = (message: string) => `echo: ${message}`

/**
 * What the agent answers: the echo, saying how many messages it received as one turn (a
 * coalesced burst, `fabric.coalesced_message_ids`; their lines are echoed joined by " / ") and
 * how many earlier messages it got as context (`fabric.history`); asked for something "long", a
 * report of three paragraphs of about 3000 characters, more than one Fabric message holds, so
 * `send` posts it in parts.
 */
export const answerText = (message: string, context: number, merged = 1) => {
  if (!/\blong\b/i.test(message)) {
    const notes = [
      ...(merged > 1 ? [`I received ${merged} messages as one turn`] : []),
      ...(context > 0 ? [`I read ${context} earlier message${context === 1 ? "" : "s"} as context`] : [])
    ]
    const echo = echoText(merged > 1 ? message.split("\n").join(" / ") : message)
    return notes.length === 0 ? echo : `${echo} (${notes.join("; ")})`
  }
  const paragraph = (n: number) => `${n}. ${`${echoText(message)}. `.repeat(Math.ceil(3000 / (message.length + 8)))}`.trim()
  return [1, 2, 3].map(paragraph).join("\n\n")
}

const toolText = (result: unknown): { readonly text: string; readonly failed: boolean } => {
  const r = result as { readonly content?: ReadonlyArray<{ readonly text?: string }>; readonly isError?: boolean } | undefined
  return { text: r?.content?.map((c) => c.text ?? "").join(" ") ?? "", failed: r?.isError === true }
}

/**
 * Runs until its scope closes. Hops are keyed by the Fabric message id that woke the agent
 * (every id, when the plugin coalesced several messages into one notification).
 */
export const runEchoAgent = (host: PluginHost, options: {
  /** The agent's "work" before it answers (the demo: until alice sees it typing). */
  readonly beforeAnswer?: (inbound: TimedInbound["inbound"]) => Effect.Effect<unknown>
} = {}) =>
  Effect.gen(function*() {
    const hops = yield* SubscriptionRef.make<ReadonlyMap<string, EchoHop>>(new Map())
    const answer = Effect.fnUntraced(function*({ inbound, receivedAt }: TimedInbound) {
      const messageIds = [...(inbound.fabric.coalesced_message_ids ?? []), inbound.fabric.message_id]
      if (options.beforeAnswer !== undefined) yield* options.beforeAnswer(inbound)
      const sendAt = yield* nowMs
      const result = yield* host.request(Methods.toolsCall, {
        name: "send",
        arguments: {
          channel_name: inbound.channel_name,
          session_id: inbound.session_id,
          reply_to: inbound.fabric.message_id,
          message: answerText(inbound.message, inbound.fabric.history?.length ?? 0, messageIds.length)
        }
      }).pipe(
        Effect.map(toolText),
        Effect.catchAll((e) => Effect.succeed({ text: e.message, failed: true }))
      )
      const hop: EchoHop = {
        channelName: inbound.channel_name,
        sessionId: inbound.session_id,
        messageIds,
        inboundAt: receivedAt,
        sendAt,
        sentAt: yield* nowMs,
        result: result.text,
        failed: result.failed
      }
      yield* SubscriptionRef.update(hops, (all) => new Map([...all, ...messageIds.map((id) => [id, hop] as const)]))
    })
    yield* Stream.fromQueue(host.inbound).pipe(Stream.runForEach(answer), Effect.forkScoped)

    /** The agent's answer to `messageId`, once its `send` call returned. */
    const awaitHop = (messageId: string, timeout: Duration.DurationInput) =>
      hops.changes.pipe(
        Stream.map((all) => all.get(messageId)),
        Stream.filter((hop): hop is EchoHop => hop !== undefined),
        Stream.runHead,
        Effect.map(Option.getOrThrow),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new DemoError({ message: `the agent got no inbound notification for ${messageId} within ${Duration.format(timeout)}` })
        })
      )
    return { awaitHop } as const
  })

export type EchoAgent = Effect.Effect.Success<ReturnType<typeof runEchoAgent>>
