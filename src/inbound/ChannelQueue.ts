/**
 * One serial worker per (agent, Fabric channel): deliveries in a channel keep their order, and
 * a slow channel never holds up another. A worker is acquired on demand through an `RcMap` and
 * released `queue_idle_seconds` after its last job finished, so idle channels cost nothing.
 *
 * Every job holds its own reference on the worker until it has run (house style 8): the idle
 * countdown only starts once nothing is queued, so an accepted job is never lost to it.
 */
import { Cause, Data, Duration, Effect, Exit, Metric, Queue, RcMap, Scope } from "effect"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { channelWorkers, queueDepth } from "../telemetry/Metrics.js"
import { FiberRegistry } from "../telemetry/FiberRegistry.js"

/** Which worker a job belongs to; compared by value. */
export interface QueueKey {
  readonly agentId: string
  readonly channelId: string
}
export const queueKey = (agentId: string, channelId: string): QueueKey => Data.struct({ agentId, channelId })

interface Worker {
  readonly jobs: Queue.Queue<Effect.Effect<void>>
}

export class ChannelQueue extends Effect.Service<ChannelQueue>()("plexum-fabric/ChannelQueue", {
  scoped: Effect.gen(function*() {
    const { config } = yield* ActiveProfile
    const registry = yield* FiberRegistry

    /** Runs one job; a job that dies is logged and the channel goes on with the next one. */
    const runJob = (key: QueueKey) => (job: Effect.Effect<void>) =>
      job.pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.void
            : Effect.logError(`Delivery in channel ${key.channelId} failed unexpectedly; the channel goes on with the next message.`, cause)
        )
      )

    const startWorker = (key: QueueKey) =>
      Effect.gen(function*() {
        const jobs = yield* Effect.acquireRelease(Queue.unbounded<Effect.Effect<void>>(), Queue.shutdown)
        const tracked = yield* registry.track({ kind: "channel_worker", agent_id: key.agentId, channel_id: key.channelId, state: "idle" })
        yield* Effect.acquireRelease(Metric.increment(channelWorkers), () => Metric.incrementBy(channelWorkers, -1))
        yield* Queue.take(jobs).pipe(
          Effect.tap(() => Metric.incrementBy(queueDepth, -1)),
          Effect.tap(() => tracked.update({ state: "delivering" })),
          // Interruptible: a delivery is one offer to the host's outbox, and one stuck behind a
          // host that stopped reading must not hold up the stop.
          Effect.flatMap(runJob(key)),
          Effect.tap(() => tracked.update({ state: "idle" })),
          Effect.forever,
          // The first `offer` acquires the worker from an uninterruptible region, and a fork
          // inherits that: the worker itself must stay interruptible to end with its scope.
          Effect.interruptible,
          Effect.forkScoped
        )
        return { jobs } satisfies Worker
      }).pipe(Effect.annotateLogs({ service: "ChannelQueue", agent: key.agentId, channel: key.channelId }))

    const workers = yield* RcMap.make({
      lookup: startWorker,
      idleTimeToLive: Duration.seconds(config.queue_idle_seconds)
    })

    return {
      /**
       * Queues `job` behind the channel's earlier jobs and returns at once; the job runs on the
       * channel's worker. A hot path: no span.
       */
      offer: (key: QueueKey, job: Effect.Effect<void>): Effect.Effect<void> =>
        Effect.gen(function*() {
          const reference = yield* Scope.make()
          const release = Scope.close(reference, Exit.void)
          const worker = yield* RcMap.get(workers, key).pipe(Scope.extend(reference))
          yield* Metric.increment(queueDepth)
          yield* Queue.offer(worker.jobs, Effect.ensuring(job, release)).pipe(Effect.onInterrupt(() => release))
        }).pipe(Effect.uninterruptible)
    } as const
  })
}) {}
