/**
 * The continuity check: while a socket is up its order is trusted and nothing waits for REST,
 * but a node may still fail to emit an event without dropping the socket. In the background (at
 * each re-sync, or sooner when a busy channel has handled many messages since its last check),
 * the channel's history is read forward from the last verified message to the cursor; a message
 * the socket never brought is decided then, and a waking one is delivered exactly once with
 * `fabric.late: true` (host-protocol.md v1.1). At most one history call is in flight per
 * channel: the session's checker runs its channels one after another.
 */
import { Clock, Effect } from "effect"
import { type Channel, HISTORY_LIMIT_MAX } from "../fabric/FabricContract.js"
import { FabricApi } from "../fabric/FabricApi.js"
import { Batch } from "./Batch.js"
import type { CatchUpSession } from "./CatchUp.js"
import type { ChannelState } from "./ChannelState.js"
import { decideMessage } from "./Decide.js"
import { HandledRun } from "./HandledRun.js"

/** Pages a check may read beyond what the handled ids account for, before it gives up this round. */
const SLACK_PAGES = 5

export class Continuity extends Effect.Service<Continuity>()("plexum-fabric/Continuity", {
  effect: Effect.gen(function*() {
    const api = yield* FabricApi

    /** Checks one channel; returns the number of late messages delivered. */
    const check = (session: CatchUpSession, state: ChannelState, channel: Channel) =>
      Effect.suspend(() => {
        const from = state.checkedThrough
        if (from === undefined || state.cursor._tag !== "After" || state.checking !== undefined || state.handled.length === 0) {
          return Effect.succeed(0)
        }
        const until = state.cursor.messageId
        const checking = new HandledRun(state.handled)
        state.checkRequested = false
        state.checking = checking
        state.handled = []
        const maxPages = Math.ceil(checking.ids.length / HISTORY_LIMIT_MAX) + SLACK_PAGES
        return Effect.gen(function*() {
          let after = from
          let late = 0
          for (let pages = 0; pages < maxPages; pages++) {
            const page = yield* api.listMessages(session.ref, channel.id, { after, limit: HISTORY_LIMIT_MAX })
            const batch = new Batch("late", session.tracing, yield* Clock.currentTimeMillis)
            let reached = !page.has_more || page.messages.length === 0
            for (const message of page.messages) {
              if (!checking.has(message.id)) decideMessage(session.view, state, channel, message, batch)
              if (message.id === until) {
                reached = true
                break
              }
            }
            late += batch.delivered
            yield* session.emit(batch)
            if (reached) break
            after = page.messages.at(-1)!.id
          }
          // Whether it met `until` or ran out of pages, the range is settled: a later check
          // starts from where this one was asked to reach.
          if (state.checking === checking) {
            state.checkedThrough = until
            state.checking = undefined
          }
          return late
        }).pipe(
          Effect.onError(() =>
            Effect.sync(() => {
              // Not checked: the ids go back, the next check covers the range again.
              if (state.checking === checking) {
                state.handled = checking.ids.concat(state.handled)
                state.checking = undefined
              }
            })
          )
        )
      })

    return { check } as const
  })
}) {}
