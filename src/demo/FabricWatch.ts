/**
 * What a person in Fabric sees: a socket.io connection as one user (alice), recording every
 * `message.created` with the time it arrived. The demo proves the echo reached Fabric by
 * seeing it here, then checks the guild's stored messages too.
 */
import { Duration, Effect, Mailbox, Option, type Redacted, Schema, Stream, SubscriptionRef } from "effect"
import { Events, Message } from "../fabric/FabricContract.js"
import { GuildSocket } from "../fabric/GuildSocket.js"
import { nowMs } from "./PluginHost.js"
import { DemoError } from "./DemoError.js"

export interface Seen {
  readonly message: Message
  readonly at: number
}

const decodeMessage = Schema.decodeUnknownOption(Message)
const decodeTyping = Schema.decodeUnknownOption(Schema.Struct({ user_id: Schema.String, channel_id: Schema.String }))

export const watchFabric = (endpoint: string, token: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const sockets = yield* GuildSocket
    const seen = yield* SubscriptionRef.make<ReadonlyArray<Seen>>([])
    /** `typing.started` events: "user channel" keys. */
    const typing = yield* SubscriptionRef.make<ReadonlySet<string>>(new Set())
    const events = yield* sockets.connect(endpoint, token).pipe(
      Effect.mapError((e) => new DemoError({ message: `alice cannot connect to the guild: ${e.message}` }))
    )
    // One consumer: the socket's events are a single stream.
    yield* Mailbox.toStream(events).pipe(
      Stream.runForEach((event) =>
        event.name === Events.messageCreated
          ? Option.match(decodeMessage(event.payload), {
            onNone: () => Effect.void,
            onSome: (message) => Effect.flatMap(nowMs, (at) => SubscriptionRef.update(seen, (all) => [...all, { message, at }]))
          })
          : event.name === Events.typingStarted
          ? Option.match(decodeTyping(event.payload), {
            onNone: () => Effect.void,
            onSome: (t) => SubscriptionRef.update(typing, (all) => new Set([...all, `${t.user_id} ${t.channel_id}`]))
          })
          : Effect.void
      ),
      Effect.ignore,
      Effect.forkScoped
    )

    /** The first message seen that matches, waiting for it up to `timeout`. */
    const awaitMessage = (matches: (message: Message) => boolean, what: string, timeout: Duration.DurationInput) =>
      seen.changes.pipe(
        Stream.map((all) => all.find((s) => matches(s.message))),
        Stream.filter((s): s is Seen => s !== undefined),
        Stream.runHead,
        Effect.map(Option.getOrThrow),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new DemoError({ message: `${what} did not appear in Fabric within ${Duration.format(timeout)}` })
        })
      )
    /** True once alice was shown `userId` typing in `channelId` (waits up to `timeout`). */
    const sawTyping = (userId: string, channelId: string, timeout: Duration.DurationInput) =>
      typing.changes.pipe(
        Stream.filter((all) => all.has(`${userId} ${channelId}`)),
        Stream.runHead,
        Effect.map(Option.isSome),
        Effect.timeout(timeout),
        Effect.orElseSucceed(() => false)
      )
    return { awaitMessage, sawTyping } as const
  })
