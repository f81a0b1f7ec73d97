/**
 * Chaos: the real inbound Supervisor (sockets, directory, catch-up, pipeline, dedup, channel
 * queues) against the sim while it drops sockets, restarts a guild node, silences an agent's
 * events for a while and expires tokens every few seconds, and humans post hundreds of DMs and
 * wake messages. Every message that should wake an agent must reach it exactly once, each
 * channel in posting order, except those a silenced socket never brought: a continuity check
 * finds them afterwards and delivers them marked `fabric.late` (host-protocol.md v1.1).
 *
 * The chaos is drawn from a seeded PRNG, so a run is reproducible in what it does (only its
 * timing varies); the outcome asserted does not depend on timing at all.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Option, Schedule } from "effect"
import type { Channel } from "../../src/fabric/FabricContract.js"
import type { Inbound } from "../../src/host/HostProtocol.js"
import { Supervisor } from "../../src/inbound/Supervisor.js"
import { ReconnectPolicy } from "../../src/inbound/Timing.js"
import { wakes } from "../../src/inbound/WakeGate.js"
import { ActiveProfile, defaultConfig } from "../../src/profile/ProfileSchema.js"
import { Sim } from "../../src/sim/Sim.js"
import { inboundUnderTest, type Posted, prng, squareBindings, verdict } from "./deliveryVerdict.js"

const SEED = 0x5eed_2025
const POSTS = 300
const TOKEN_TTL_SECONDS = 3
/** One guild node restart, early enough to always happen. */
const RESTART_AT_STEP = 4
const AGENT_IDS = ["scout", "scribe", "sentry"] as const
const GUILD_NAMES = ["acme", "globex"] as const

/** Reconnects within a fraction of a second: the production policy would wait up to 30 s. */
const fastReconnect = Schedule.exponential("20 millis").pipe(
  Schedule.either(Schedule.spaced("300 millis")),
  Schedule.jittered,
  Schedule.delays
)


const world = Effect.gen(function*() {
  const sim = yield* Sim.start({ tokenTtlSeconds: TOKEN_TTL_SECONDS })
  const humans = yield* Effect.forEach(["ada", "bob", "cy"], (name) => sim.createUser({ display_name: name }))
  const agents = yield* Effect.forEach(AGENT_IDS, (name) => sim.createAgent({ display_name: name }))
  const agentIdOf = new Map(agents.map((a, i) => [a.id, AGENT_IDS[i]!]))
  const guilds = yield* Effect.forEach(GUILD_NAMES, (name) => sim.createGuild({ name }))
  for (const guild of guilds) {
    for (const user of [...humans, ...agents]) yield* sim.addMember(guild.node_id, user.id)
  }
  const squares = yield* Effect.forEach(guilds, (guild) =>
    sim.createChannel(guild.node_id, {
      name: "town-square",
      x_type: "group",
      member_ids: [...humans, ...agents].map((u) => u.id)
    }))
  const bindings = squareBindings(AGENT_IDS, GUILD_NAMES, guilds, squares)
  const profile = Layer.succeed(ActiveProfile, {
    root: "profile",
    config: {
      ...defaultConfig,
      center_api_base: sim.centerApiBase,
      channel_sync_interval_seconds: 1,
      queue_idle_seconds: 1,
      catchup_concurrency: 2
    },
    identities: new Map(AGENT_IDS.map((id, i) => [id, { agentId: id, apiKey: agents[i]!.api_key, enabled: true }])),
    bindings
  })
  return { sim, humans, agents, agentIdOf, guilds, squares, profile }
})

describe("inbound under chaos", () => {
  it.scopedLive("delivers every waking message exactly once, in posting order per channel", () =>
    Effect.gen(function*() {
      const { agentIdOf, agents, guilds, humans, profile, sim, squares } = yield* world
      // One stream per fiber: the posts and the chaos each replay the same sequence every run.
      const random = prng(SEED)
      const chaosRandom = prng(SEED + 1)
      const { host, inbound, quietLogger, warnings } = yield* inboundUnderTest(profile)

      const posted: Array<Posted> = []
      const channelOf = new Map<string, { readonly guild: string; readonly channel: Channel }>()
      for (const [g, square] of squares.entries()) channelOf.set(square.id, { guild: guilds[g]!.node_id, channel: square })
      const post = (guildId: string, channel: Channel, author: string, wakeup: boolean) =>
        Effect.gen(function*() {
          const message = yield* sim.postMessage(guildId, channel.id, { author_id: author, content: `#${posted.length}`, wakeup })
          const members = channel.member_ids ?? []
          posted.push({
            id: message.id,
            channelId: channel.id,
            seq: posted.length,
            wakes: members.flatMap((userId) =>
              agentIdOf.has(userId) && userId !== author && wakes(channel.x_type, message, userId) ? [agentIdOf.get(userId)!] : []
            )
          })
        })
      const openDm = (guildId: string, human: string, agent: string) =>
        Effect.tap(sim.openDm(guildId, human, agent), (dm) => Effect.sync(() => channelOf.set(dm.id, { guild: guildId, channel: dm })))

      const expectedCount = () => posted.reduce((n, p) => n + p.wakes.length, 0)
      const allDelivered = (all: ReadonlyArray<Inbound>) => {
        const seen = new Set(all.map((i) => `${i.fabric.agent_id}/${i.fabric.message_id}`))
        return posted.every((p) => p.wakes.every((agent) => seen.has(`${agent}/${p.id}`)))
      }
      /** Waits until every expected delivery happened, or the timeout; the verdict tells which. */
      const deliveredAll = (timeout: Duration.DurationInput) => Effect.option(host.waitFor(allDelivered, timeout))

      const context = yield* Layer.build(inbound)
      yield* Effect.gen(function*() {
        const supervisor = yield* Supervisor
        // Two humans already have DMs with every agent; the third opens them during the chaos.
        for (const guild of guilds) {
          for (const human of humans.slice(0, 2)) for (const agent of agents) yield* openDm(guild.node_id, human.id, agent.id)
        }
        yield* supervisor.start
        // Only what is posted once an agent's socket is up is new to it.
        yield* Effect.forEach(guilds, (guild) => sim.socketStats(guild.node_id)).pipe(
          Effect.repeat({
            schedule: Schedule.spaced("25 millis"),
            until: (stats) => stats.every((s) => s.connected === agents.length)
          }),
          Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the agents' sockets did not connect") })
        )

        // Warm-up: a message delivered live means that socket's first catch-up is over, so the
        // chaos cannot hit a first connect (whose history is, by design, not new).
        for (const [g, square] of squares.entries()) yield* post(guilds[g]!.node_id, square, humans[0]!.id, true)
        expect(Option.isSome(yield* deliveredAll("10 seconds"))).toBe(true)

        let restarts = 0
        const actions: Array<string> = []
        let postingDone = false
        const chaos = yield* Effect.gen(function*() {
          for (let step = 0; !postingDone; step++) {
            // Pacing of the workload, not a wait for a result.
            yield* Effect.sleep(Duration.millis(chaosRandom.int(150, 450)))
            const guild = chaosRandom.pick(guilds).node_id
            const agent = chaosRandom.pick(agents).id
            const roll = chaosRandom.next()
            if (step === RESTART_AT_STEP) {
              restarts += 1
              actions.push(`restart ${guild} at post ${posted.length}`)
              yield* sim.restartGuild(guild)
            } else if (roll < 0.4) yield* sim.dropSockets(guild)
            else if (roll < 0.65) yield* sim.dropSockets(guild, agent)
            else yield* sim.suppress(agent, chaosRandom.int(200, 1500))
          }
        }).pipe(Effect.fork)

        for (let i = 0; i < POSTS; i++) {
          const g = random.int(0, guilds.length - 1)
          const guildId = guilds[g]!.node_id
          const roll = random.next()
          if (roll < 0.55) {
            const dm = yield* openDm(guildId, random.pick(humans.slice(0, 2)).id, random.pick(agents).id)
            yield* post(guildId, dm, dm.member_ids!.find((id) => !agentIdOf.has(id))!, false)
          } else if (roll < 0.65) {
            // Usually a new DM: its channel.joined may be lost to a silenced agent.
            const dm = yield* openDm(guildId, humans[2]!.id, random.pick(agents).id)
            yield* post(guildId, dm, humans[2]!.id, false)
          } else {
            yield* post(guildId, squares[g]!, random.pick(humans).id, roll < 0.9)
          }
          yield* Effect.sleep(Duration.millis(random.int(2, 20)))
        }
        postingDone = true
        yield* Fiber.join(chaos)
        for (const agent of agents) yield* sim.resume(agent.id)

        // Silenced events come back with the next reconnect; tokens expire every few seconds.
        const settled = yield* deliveredAll("25 seconds")
        // Barrier: one more drop and a last message in every square. Once those are delivered,
        // every catch-up that could still produce a duplicate has finished.
        for (const guild of guilds) yield* sim.dropSockets(guild.node_id)
        for (const [g, square] of squares.entries()) yield* post(guilds[g]!.node_id, square, humans[0]!.id, true)
        const barrier = yield* deliveredAll("10 seconds")

        const delivered = yield* host.delivered
        const report = verdict(posted, delivered)
        const stats = yield* Effect.forEach(guilds, (guild) => sim.socketStats(guild.node_id))
        const logins = yield* Effect.forEach(agents, (agent) => sim.loginCount(agent.id))
        const counts = {
          posted: posted.length,
          expected: expectedCount(),
          delivered: delivered.length,
          duplicates: report.duplicates,
          missing: report.missing,
          unexpected: report.unexpected,
          out_of_order: report.outOfOrder,
          late: report.late,
          reconnects: stats.reduce((n, s) => n + s.connections, 0) - agents.length * guilds.length,
          logins: logins.reduce((n, l) => n + l, 0),
          guild_restarts: restarts,
          warnings: warnings.length,
          settled: Option.isSome(settled) && Option.isSome(barrier)
        }
        console.info(`chaos (seed ${SEED.toString(16)}): ${JSON.stringify(counts)}`)
        if (report.missing > 0) console.info(`missing: ${report.missingKeys.slice(0, 10).join(", ")}; ${actions.join("; ")}; ${JSON.stringify(stats)}; last warnings:\n${warnings.slice(-10).join("\n")}`)
        expect(counts).toMatchObject({ duplicates: 0, missing: 0, unexpected: 0, out_of_order: 0 })
        expect(counts.delivered).toBe(counts.expected)
        expect(counts.reconnects).toBeGreaterThan(agents.length * guilds.length)
        expect(counts.logins).toBeGreaterThan(agents.length)
      }).pipe(Effect.provide(context), Effect.provideService(ReconnectPolicy, fastReconnect), Effect.provide(quietLogger))
    }), 60_000)
})
