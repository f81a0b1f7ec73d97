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

export const watchFabric = (endpoint: string, token: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const sockets = yield* GuildSocket
    const seen = yield* SubscriptionRef.make<ReadonlyArray<Seen>>([])
    const events = yield* sockets.connect(endpoint, token).pipe(
      Effect.mapError((e) => new DemoError({ message: `alice cannot connect to the guild: ${e.message}` }))
    )
    yield* Mailbox.toStream(events).pipe(
      Stream.filter((event) => event.name === Events.messageCreated),
      Stream.filterMap((event) => decodeMessage(event.payload)),
      Stream.runForEach((message) =>
        Effect.flatMap(nowMs, (at) => SubscriptionRef.update(seen, (all) => [...all, { message, at }]))
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
    return { awaitMessage } as const
  })
