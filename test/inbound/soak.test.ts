/**
 * Soak: the real inbound Supervisor with the production reconnect policy against the sim, for
 * about a minute: 4 agents in 2 guilds, tokens that expire every 3 s (the node then drops the
 * socket), 2 agents also dropped every 1.5-3 s, 2 guild restarts, and 2 800 posts (DMs, wake
 * and non-waking group messages) at ~70 per second, half of them into the busy agents' DMs,
 * one of which gets ~25 per second.
 * Every waking message must reach its agent exactly once, in posting order per channel; the
 * counts are printed.
 *
 * What it guards against (issue 13): a reconnect policy that backs off across sessions that
 * were live leaves agents dropped every few seconds waiting tens of seconds, and each catch-up
 * then faces hundreds of messages per channel.
 *
 * Seeded: the workload and the chaos replay the same sequence every run; only timing varies,
 * and the outcome asserted does not depend on it. Bounded: 90 s in all.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Option, Schedule } from "effect"
import type { Channel } from "../../src/fabric/FabricContract.js"
import { Supervisor } from "../../src/inbound/Supervisor.js"
import { wakes } from "../../src/inbound/WakeGate.js"
import { ActiveProfile, defaultConfig } from "../../src/profile/ProfileSchema.js"
import { Sim } from "../../src/sim/Sim.js"
import { everyDelivery, inboundUnderTest, squareBindings, type Posted, prng, verdict } from "./deliveryVerdict.js"

const SEED = 0x50a4_2026
const TOKEN_TTL_SECONDS = 3
const AGENT_IDS = ["atlas", "blaze", "cinder", "dune"] as const
/** These two are also dropped every 1.5-3 s, and get half of all posts in their DMs. */
const BUSY = 2
const GUILD_NAMES = ["north", "south"] as const
/** Posting: TICKS ticks of TICK, POSTS_PER_TICK posts each: 2 800 posts over ~40 s. */
const TICKS = 400
const TICK = Duration.millis(100)
const POSTS_PER_TICK = 7
/** Guild restarts, at these ticks, alternating guilds. */
const RESTART_TICKS = [120, 260] as const
const SETTLE = Duration.seconds(20)
const BARRIER = Duration.seconds(8)

const world = Effect.gen(function*() {
  const sim = yield* Sim.start({ tokenTtlSeconds: TOKEN_TTL_SECONDS })
  const humans = yield* Effect.forEach(["ada", "bob"], (name) => sim.createUser({ display_name: name }))
  const agents = yield* Effect.forEach(AGENT_IDS, (name) => sim.createAgent({ display_name: name }))
  const agentIdOf = new Map(agents.map((a, i) => [a.id, AGENT_IDS[i]!]))
  const guilds = yield* Effect.forEach(GUILD_NAMES, (name) => sim.createGuild({ name }))
  for (const guild of guilds) {
    for (const user of [...humans, ...agents]) yield* sim.addMember(guild.node_id, user.id)
  }
  const squares = yield* Effect.forEach(guilds, (guild) =>
    sim.createChannel(guild.node_id, { name: "square", x_type: "group", member_ids: [...humans, ...agents].map((u) => u.id) }))
  // dms[guild][human][agent]
  const dms = yield* Effect.forEach(guilds, (guild) =>
    Effect.forEach(humans, (human) => Effect.forEach(agents, (agent) => sim.openDm(guild.node_id, human.id, agent.id))))
  const bindings = squareBindings(AGENT_IDS, GUILD_NAMES, guilds, squares)
  const profile = Layer.succeed(ActiveProfile, {
    root: "profile",
    config: { ...defaultConfig, center_api_base: sim.centerApiBase },
    identities: new Map(AGENT_IDS.map((id, i) => [id, { agentId: id, apiKey: agents[i]!.api_key, enabled: true }])),
    bindings
  })
  return { sim, humans, agents, agentIdOf, guilds, squares, dms, profile }
})

describe("inbound soak", () => {
  it.scopedLive("frequent drops, 3 s tokens and guild restarts: every waking message exactly once, in order", () =>
    Effect.gen(function*() {
      const { agentIdOf, agents, dms, guilds, humans, profile, sim, squares } = yield* world
      const random = prng(SEED)
      const chaosRandom = prng(SEED + 1)
      const { host, inbound, quietLogger, warnings } = yield* inboundUnderTest(profile)

      const posted: Array<Posted> = []
      const post = (guildId: string, channel: Channel, author: string, wakeup: boolean) =>
        Effect.gen(function*() {
          const message = yield* sim.postMessage(guildId, channel.id, { author_id: author, content: `#${posted.length}`, wakeup })
          posted.push({
            id: message.id,
            channelId: channel.id,
            seq: posted.length,
            wakes: wakes(channel.x_type, message, author)
              ? (channel.member_ids ?? []).flatMap((id) => (agentIdOf.has(id) && id !== author ? [agentIdOf.get(id)!] : []))
              : []
          })
        })
      const deliveredAll = (timeout: Duration.DurationInput) =>
        Effect.option(host.waitFor(everyDelivery(posted), timeout))

      const context = yield* Layer.build(inbound)
      yield* Effect.gen(function*() {
        yield* (yield* Supervisor).start
        yield* Effect.forEach(guilds, (guild) => sim.socketStats(guild.node_id)).pipe(
          Effect.repeat({ schedule: Schedule.spaced("25 millis"), until: (stats) => stats.every((s) => s.connected === agents.length) }),
          Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the agents' sockets did not connect") })
        )
        // Warm-up: delivered live, so every socket's first catch-up (whose history is, by
        // design, not new) is over before the chaos starts.
        for (const [g, square] of squares.entries()) yield* post(guilds[g]!.node_id, square, humans[0]!.id, true)
        expect(Option.isSome(yield* deliveredAll("15 seconds"))).toBe(true)

        let postingDone = false
        let drops = 0
        const chaos = yield* Effect.gen(function*() {
          while (!postingDone) {
            // Pacing of the chaos, not a wait for a result.
            yield* Effect.sleep(Duration.millis(chaosRandom.int(1_500, 3_000)))
            for (const agent of agents.slice(0, BUSY)) {
              drops += yield* sim.dropSockets(chaosRandom.pick(guilds).node_id, agent.id)
            }
          }
        }).pipe(Effect.fork)

        let restarts = 0
        for (let tick = 0; tick < TICKS; tick++) {
          const restartAt = RESTART_TICKS.indexOf(tick as (typeof RESTART_TICKS)[number])
          if (restartAt >= 0) {
            restarts += 1
            yield* sim.restartGuild(guilds[restartAt % guilds.length]!.node_id)
          }
          for (let i = 0; i < POSTS_PER_TICK; i++) {
            const g = random.int(0, guilds.length - 1)
            const guildId = guilds[g]!.node_id
            const roll = random.next()
            if (roll < 0.35) {
              // One hot DM (ada and the first busy agent, first guild), ~25 posts/s: a 30 s
              // reconnect wait would leave more than a catch-up of 500 can hold.
              yield* post(guilds[0]!.node_id, dms[0]![0]![0]!, humans[0]!.id, false)
            } else if (roll < 0.5) {
              yield* post(guildId, dms[g]![0]![random.int(0, BUSY - 1)]!, humans[0]!.id, false)
            } else if (roll < 0.75) {
              const h = random.int(0, humans.length - 1)
              yield* post(guildId, dms[g]![h]![random.int(0, agents.length - 1)]!, humans[h]!.id, false)
            } else {
              yield* post(guildId, squares[g]!, random.pick(humans).id, roll < 0.9)
            }
          }
          // Pacing of the workload.
          yield* Effect.sleep(TICK)
        }
        postingDone = true
        yield* Fiber.join(chaos)

        const settled = yield* deliveredAll(SETTLE)
        // Barrier: one more drop and a last message in every square. Once those are delivered,
        // every catch-up that could still produce a duplicate has finished.
        for (const guild of guilds) yield* sim.dropSockets(guild.node_id)
        for (const [g, square] of squares.entries()) yield* post(guilds[g]!.node_id, square, humans[0]!.id, true)
        const barrier = yield* deliveredAll(BARRIER)

        const delivered = yield* host.delivered
        const report = verdict(posted, delivered)
        const stats = yield* Effect.forEach(guilds, (guild) => sim.socketStats(guild.node_id))
        const logins = yield* Effect.forEach(agents, (agent) => sim.loginCount(agent.id))
        const counts = {
          posted: posted.length,
          expected: report.expected,
          delivered: delivered.length,
          duplicates: report.duplicates,
          missing: report.missing,
          unexpected: report.unexpected,
          out_of_order: report.outOfOrder,
          connections: stats.reduce((n, s) => n + s.connections, 0),
          drops,
          logins: logins.reduce((n, l) => n + l, 0),
          guild_restarts: restarts,
          warnings: warnings.length,
          settled: Option.isSome(settled) && Option.isSome(barrier)
        }
        console.info(`soak (seed ${SEED.toString(16)}): ${JSON.stringify(counts)}`)
        if (report.missing > 0 || warnings.length > 0) {
          console.info(`missing (first 10): ${report.missingKeys.slice(0, 10).join(", ")}; last warnings:\n${warnings.slice(-5).join("\n")}`)
        }
        expect(counts).toMatchObject({ duplicates: 0, missing: 0, unexpected: 0, out_of_order: 0, settled: true })
        expect(counts.delivered).toBe(counts.expected)
        // The chaos happened: tokens expired and sockets dropped well beyond the first connects.
        expect(counts.connections).toBeGreaterThan(agents.length * guilds.length * 5)
        expect(counts.guild_restarts).toBe(RESTART_TICKS.length)
      }).pipe(Effect.provide(context), Effect.provide(quietLogger))
    }), 90_000)
})
