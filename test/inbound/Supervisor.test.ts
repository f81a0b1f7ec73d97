/**
 * Inbound delivery end to end, in process: the real sim (center, guild nodes, socket.io server),
 * real socket.io-client sockets, the active plugin as main.ts composes it, and the Supervisor
 * writing to a recording HostApi. Every wait has a timeout; nothing sleeps.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, type Duration, Effect, Layer, Redacted, Schedule, type Scope } from "effect"
import type { Inbound } from "../../src/host/HostProtocol.js"
import { Supervisor, supervisedGuilds } from "../../src/inbound/Supervisor.js"
import { ReconnectPolicy } from "../../src/inbound/Timing.js"
import { ActiveLive } from "../../src/main.js"
import { ActiveProfile, defaultConfig, type Identity, type LoadedProfile, type PluginConfig } from "../../src/profile/ProfileSchema.js"
import { Sim } from "../../src/sim/Sim.js"
import type { SimAgent, SimGuild } from "../../src/sim/SimControls.js"
import { FiberRegistry } from "../../src/telemetry/FiberRegistry.js"
import { recordingHost } from "./fakes.js"
import { FabricTransport, FabricTransportLive } from "../../src/fabric/FabricTransport.js"

// ---------------------------------------------------------------------------------------------
// The world: one guild (optionally two), agents Ada and Bob, a human, a group channel "team".

const ADA = "ada"
const BOB = "bob"

interface WorldOptions {
  readonly tokenTtlSeconds?: number
  readonly config?: Partial<PluginConfig>
  readonly secondGuild?: boolean
  /** Reconnect timing; the production policy unless a test needs faster. */
  readonly policy?: Schedule.Schedule<Duration.Duration, unknown>
  /** Fabric over real HTTP unless a test needs a fault in it. */
  readonly transport?: Layer.Layer<FabricTransport>
}

const fastPolicy = Schedule.exponential("50 millis").pipe(Schedule.either(Schedule.spaced("300 millis")), Schedule.delays)

const makeWorld = (options: WorldOptions = {}) =>
  Effect.gen(function*() {
    const sim = yield* Sim.start({ tokenTtlSeconds: options.tokenTtlSeconds })
    const guild = yield* sim.createGuild({ name: "guild" })
    const ada = yield* sim.createAgent({ display_name: "Ada" })
    const bob = yield* sim.createAgent({ display_name: "Bob" })
    const human = yield* sim.createUser({ display_name: "Hugo" })
    for (const user of [ada, bob, human]) yield* sim.addMember(guild.node_id, user.id)
    const team = yield* sim.createChannel(guild.node_id, { name: "team", x_type: "group", member_ids: [ada.id, bob.id, human.id] })
    let second: SimGuild | undefined
    if (options.secondGuild) {
      second = yield* sim.createGuild({ name: "second" })
      for (const user of [ada, human]) yield* sim.addMember(second.node_id, user.id)
    }

    const identity = (agentId: string, agent: SimAgent): Identity => ({ agentId, apiKey: agent.api_key, enabled: true })
    const profile: LoadedProfile = {
      // The plugin's durable state (cursors) goes here.
      root: yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped()).pipe(Effect.provide(NodeContext.layer)),
      config: { ...defaultConfig, center_api_base: sim.centerApiBase, ...options.config },
      identities: new Map([[ADA, identity(ADA, ada)], [BOB, identity(BOB, bob)]]),
      bindings: [
        { name: "fabric-ada", agentId: ADA, guildNodeId: guild.node_id, channelId: team.id, file: "channels/fabric-ada.json" },
        { name: "fabric-bob", agentId: BOB, guildNodeId: guild.node_id, channelId: team.id, file: "channels/fabric-bob.json" },
        ...(second
          ? [{ name: "fabric-ada-2", agentId: ADA, guildNodeId: second.node_id, channelId: "c_none", file: "channels/fabric-ada-2.json" }]
          : [])
      ]
    }
    return { sim, guild, second, ada, bob, human, team, profile }
  })

type World = Effect.Effect.Success<ReturnType<typeof makeWorld>>

/** The active plugin exactly as main.ts composes it (`ActiveLive`), around a recording host. */
const startPlugin = (world: World, options: WorldOptions = {}) =>
  Effect.gen(function*() {
    const host = yield* recordingHost
    const layer = ActiveLive.pipe(
      Layer.provideMerge(host.layer),
      Layer.provideMerge(FiberRegistry.Default),
      Layer.provide(Layer.succeed(ActiveProfile, world.profile)),
      Layer.provide(options.transport ?? FabricTransportLive),
      Layer.provide(Layer.succeed(ReconnectPolicy, options.policy ?? ReconnectPolicy.defaultValue()))
    )
    const context = yield* Layer.build(layer)
    yield* Context.get(context, Supervisor).start
    return { host, context }
  })

/** Waits until the guild node counts `connected` sockets. */
const connected = (world: World, connected: number, guild: SimGuild = world.guild) =>
  world.sim.socketStats(guild.node_id).pipe(
    Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (stats) => stats.connected === connected }),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`guild ${guild.node_id}: expected ${connected} sockets`) })
  )

/** Waits until the node has accepted `connections` handshakes in all (reconnects included). */
const connections = (world: World, atLeast: number, guild: SimGuild = world.guild) =>
  world.sim.socketStats(guild.node_id).pipe(
    Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (stats) => stats.connections >= atLeast && stats.connected > 0 }),
    Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => new Error(`guild ${guild.node_id}: no reconnect`) })
  )

/** Waits until every socket fiber is live: connected, its channels loaded and caught up. */
const live = (context: Context.Context<FiberRegistry>, sockets: number) =>
  Context.get(context, FiberRegistry).snapshot.pipe(
    Effect.repeat({
      schedule: Schedule.spaced("20 millis"),
      until: (fibers) => fibers.filter((f) => f.kind === "socket_session" && f.state === "connected").length === sockets
    }),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`expected ${sockets} live guild sockets`) })
  )

/** Waits until the socket fiber of (agent, guild) is live in its `attempt`-th session. */
const liveAgain = (context: Context.Context<FiberRegistry>, agentId: string, guild: SimGuild, attempt: number) =>
  Context.get(context, FiberRegistry).snapshot.pipe(
    Effect.repeat({
      schedule: Schedule.spaced("20 millis"),
      until: (fibers) =>
        fibers.some((f) =>
          f.kind === "socket_session" && f.agent_id === agentId && f.guild_node_id === guild.node_id &&
          f.state === "connected" && f.attempt === attempt
        )
    }),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`${agentId} did not reconnect to ${guild.node_id}`) })
  )

/** Starts the plugin for `world` and waits until all its sockets are live. */
const running = (world: World, options: WorldOptions = {}) =>
  Effect.gen(function*() {
    const plugin = yield* startPlugin(world, options)
    yield* live(plugin.context, world.second ? 3 : 2)
    return plugin
  })

const forAgent = (all: ReadonlyArray<Inbound>, agentId: string) => all.filter((i) => i.fabric.agent_id === agentId)
const texts = (all: ReadonlyArray<Inbound>, agentId: string) => forAgent(all, agentId).map((i) => i.message)

const post = (world: World, channelId: string, authorId: string, content: string, wakeup?: boolean, guild: SimGuild = world.guild) =>
  world.sim.postMessage(guild.node_id, channelId, { author_id: authorId, content, ...(wakeup === undefined ? {} : { wakeup }) })

type Test = Effect.Effect<void, unknown, Scope.Scope>

// ---------------------------------------------------------------------------------------------

describe("supervisedGuilds", () => {
  it("one entry per (agent, guild), only for agents with an enabled identity", () => {
    const key = Redacted.make("k")
    const profile: LoadedProfile = {
      root: "p",
      config: defaultConfig,
      identities: new Map([
        ["a", { agentId: "a", apiKey: key, enabled: true }],
        ["off", { agentId: "off", apiKey: key, enabled: false }]
      ]),
      bindings: [
        { name: "a1", agentId: "a", guildNodeId: "g1", channelId: "c1", file: "f" },
        { name: "a2", agentId: "a", guildNodeId: "g1", channelId: "c2", file: "f" },
        { name: "a3", agentId: "a", guildNodeId: "g2", channelId: "c3", file: "f" },
        { name: "off", agentId: "off", guildNodeId: "g1", channelId: "c1", file: "f" },
        { name: "none", agentId: "unknown", guildNodeId: "g1", channelId: "c1", file: "f" }
      ]
    }
    expect(supervisedGuilds(profile)).toEqual([
      { agentId: "a", guildNodeId: "g1" },
      { agentId: "a", guildNodeId: "g2" }
    ])
  })
})

describe("Supervisor against the sim", () => {
  it.scopedLive("a DM announced by channel.joined is delivered under the guild binding, as its own session", (): Test =>
    Effect.gen(function*() {
      const world = yield* makeWorld()
      const { host } = yield* running(world)
      const dm = yield* world.sim.openDm(world.guild.node_id, world.human.id, world.ada.id)
      const message = yield* post(world, dm.id, world.human.id, "hello Ada")
      const [inbound] = forAgent(yield* host.waitFor((all) => forAgent(all, ADA).length >= 1), ADA)
      expect(inbound).toEqual({
        channel_name: "fabric-ada",
        message: "hello Ada",
        session_id: `s_fab_${dm.id}`,
        fabric: {
          agent_id: ADA,
          guild_node_id: world.guild.node_id,
          channel_id: dm.id,
          channel_x_type: "dm",
          message_id: message.id,
          author_id: world.human.id,
          author_name: "Hugo",
          wakeup: false,
          created_at: message.created_at
        }
      })
    }))

  it.scopedLive("in a group channel only wakeup: true wakes; two agents see each other's messages, never their own", (): Test =>
    Effect.gen(function*() {
      const world = yield* makeWorld()
      const { host } = yield* running(world)
      yield* post(world, world.team.id, world.human.id, "quiet")
      yield* post(world, world.team.id, world.human.id, "loud", true)
      yield* post(world, world.team.id, world.ada.id, "from ada", true)
      yield* post(world, world.team.id, world.bob.id, "from bob", true)
      yield* post(world, world.team.id, world.human.id, "end", true)
      const all = yield* host.waitFor((all) => texts(all, ADA).includes("end") && texts(all, BOB).includes("end"))
      expect(texts(all, ADA)).toEqual(["loud", "from bob", "end"])
      expect(texts(all, BOB)).toEqual(["loud", "from ada", "end"])
      expect(forAgent(all, BOB).every((i) => i.channel_name === "fabric-bob" && i.session_id === `s_fab_${world.team.id}`)).toBe(true)
    }))

  it.scopedLive("the same event twice is delivered once; malformed events are dropped and the session goes on", (): Test =>
    Effect.gen(function*() {
      const world = yield* makeWorld()
      const { host } = yield* running(world)
      const guildId = world.guild.node_id
      const first = yield* post(world, world.team.id, world.human.id, "once", true)
      yield* world.sim.emitRaw(guildId, world.ada.id, "message.created", first)
      yield* world.sim.emitRaw(guildId, world.ada.id, "message.created", first)
      yield* world.sim.emitRaw(guildId, world.ada.id, "message.created", "not an object")
      yield* world.sim.emitRaw(guildId, world.ada.id, "message.created", { ...first, id: "m_bad", wakeup: "yes" })
      yield* world.sim.emitRaw(guildId, world.ada.id, "message.exploded", first)
      yield* post(world, world.team.id, world.human.id, "after", true)
      const all = yield* host.waitFor((all) => texts(all, ADA).includes("after"))
      expect(texts(all, ADA)).toEqual(["once", "after"])
      // Nothing above ended the session.
      expect((yield* world.sim.socketStats(guildId)).connections).toBe(2)
    }))

  it.scopedLive("30 quick messages in one channel arrive in order", (): Test =>
    Effect.gen(function*() {
      const world = yield* makeWorld()
      const { host } = yield* running(world)
      yield* world.sim.postBurst(world.guild.node_id, world.team.id, { author_id: world.human.id, content: "burst", wakeup: true, count: 30 })
      const all = yield* host.waitFor((all) => texts(all, ADA).length >= 30 && texts(all, BOB).length >= 30)
      const expected = Array.from({ length: 30 }, (_, i) => `burst #${i + 1}`)
      expect(texts(all, ADA)).toEqual(expected)
      expect(texts(all, BOB)).toEqual(expected)
    }))

  it.scopedLive("a DM whose channel.joined was missed is found by the periodic re-sync and caught up", (): Test =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ config: { channel_sync_interval_seconds: 1 } })
      const { host } = yield* running(world)
      // The node sends Ada nothing while the DM is opened and written to.
      yield* world.sim.suppress(world.ada.id)
      const dm = yield* world.sim.openDm(world.guild.node_id, world.human.id, world.ada.id)
      yield* post(world, dm.id, world.human.id, "are you there?")
      yield* world.sim.resume(world.ada.id)
      const all = yield* host.waitFor((all) => texts(all, ADA).length >= 1)
      expect(forAgent(all, ADA).map((i) => [i.message, i.session_id, i.fabric.channel_x_type])).toEqual([
        ["are you there?", `s_fab_${dm.id}`, "dm"]
      ])
    }))

  it.scopedLive("a message from a channel the directory does not know triggers a re-sync, then is delivered once", (): Test =>
    Effect.gen(function*() {
      const world = yield* makeWorld()
      const { host } = yield* running(world)
      yield* world.sim.suppress(world.ada.id)
      const dm = yield* world.sim.openDm(world.guild.node_id, world.human.id, world.ada.id)
      yield* post(world, dm.id, world.human.id, "first, unseen")
      yield* world.sim.resume(world.ada.id)
      yield* post(world, dm.id, world.human.id, "second, live")
      yield* post(world, world.team.id, world.human.id, "end", true)
      const all = yield* host.waitFor((all) => texts(all, ADA).includes("end") && texts(all, ADA).includes("second, live"))
      const inDm = forAgent(all, ADA).filter((i) => i.fabric.channel_id === dm.id).map((i) => i.message)
      expect(inDm).toEqual(["first, unseen", "second, live"])
    }))

  it.scopedLive("a guild restart drops every socket; they come back and delivery goes on", (): Test =>
    Effect.gen(function*() {
      const world = yield* makeWorld()
      const { host } = yield* running(world)
      yield* post(world, world.team.id, world.human.id, "before", true)
      yield* host.waitFor((all) => texts(all, ADA).includes("before"))
      yield* world.sim.restartGuild(world.guild.node_id)
      yield* post(world, world.team.id, world.human.id, "during", true)
      yield* connections(world, 4)
      yield* post(world, world.team.id, world.human.id, "after", true)
      const all = yield* host.waitFor((all) => texts(all, ADA).includes("after") && texts(all, BOB).includes("after"))
      expect(texts(all, ADA)).toEqual(["before", "during", "after"])
      expect(texts(all, BOB)).toEqual(["before", "during", "after"])
    }))

  it.scopedLive("tokens expiring every 2 s: delivery goes on, in order and once, and sockets dropping together cost one login", (): Test =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ tokenTtlSeconds: 2, secondGuild: true })
      const { host } = yield* running(world, { policy: fastPolicy })
      const second = world.second!
      const dm = yield* world.sim.openDm(world.guild.node_id, world.human.id, world.ada.id)
      const dm2 = yield* world.sim.openDm(second.node_id, world.human.id, world.ada.id)
      const count = 24
      // The sim paces the conversation (4 a second in each guild, ~6 s: three token lifetimes).
      yield* Effect.all([
        world.sim.postBurst(world.guild.node_id, dm.id, { author_id: world.human.id, content: "a", count, per_second: 4 }),
        world.sim.postBurst(second.node_id, dm2.id, { author_id: world.human.id, content: "b", count, per_second: 4 })
      ], { concurrency: 2 })
      const all = yield* host.waitFor(
        (all) => texts(all, ADA).filter((t) => t.startsWith("a") || t.startsWith("b")).length >= 2 * count,
        "30 seconds"
      )
      const ada = forAgent(all, ADA)
      expect(ada.filter((i) => i.fabric.channel_id === dm.id).map((i) => i.message)).toEqual(
        Array.from({ length: count }, (_, i) => `a #${i + 1}`)
      )
      expect(ada.filter((i) => i.fabric.channel_id === dm2.id).map((i) => i.message)).toEqual(
        Array.from({ length: count }, (_, i) => `b #${i + 1}`)
      )
      // Only Ada is in the second guild: its handshakes count her token lifetimes. Her two
      // sockets (one per guild) drop together at each expiry and share one login.
      yield* connections(world, 4, second)
      const lifetimes = (yield* world.sim.socketStats(second.node_id)).connections
      const logins = yield* world.sim.loginCount(world.ada.id)
      // Without the shared generation every expiry would cost two logins (one per socket).
      expect(logins).toBeLessThanOrEqual(lifetimes + 1)
    }), 60_000)

  it.scopedLive("a node dropping sockets whose tokens are still valid (a restart) costs no login", (): Test =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ secondGuild: true })
      const second = world.second!
      const { context } = yield* running(world)
      expect(yield* world.sim.loginCount(world.ada.id)).toBe(1)
      yield* world.sim.dropSockets(world.guild.node_id, world.ada.id)
      yield* liveAgain(context, ADA, world.guild, 2)
      yield* world.sim.dropSockets(second.node_id, world.ada.id)
      yield* liveAgain(context, ADA, second, 2)
      expect(yield* world.sim.loginCount(world.ada.id)).toBe(1)
    }))

  it.scopedLive("a session that dies of a defect ends, says so, and its guild reconnects and delivers", (): Test =>
    Effect.gen(function*() {
      const world = yield* makeWorld()
      // The first channel-list call of any session dies: a bug below the session, not a failure.
      let died = false
      const dyingOnce = Layer.effect(
        FabricTransport,
        Effect.map(FabricTransport, (real) => ({
          send: (request: Parameters<typeof real.send>[0]) => {
            if (died || !new URL(request.url).pathname.endsWith("/channels")) return real.send(request)
            died = true
            return Effect.dieMessage("a bug in the transport")
          }
        }))
      ).pipe(Layer.provide(FabricTransportLive))
      const { context, host } = yield* running(world, { policy: fastPolicy, transport: dyingOnce })
      const fibers = yield* Context.get(context, FiberRegistry).snapshot
      const again = fibers.filter((f) => f.kind === "socket_session" && f.attempt === 2)
      expect(again.map((f) => [f.state, f.last_error])).toEqual([["connected", "an unexpected failure"]])
      yield* post(world, world.team.id, world.human.id, "after the defect", true)
      const all = yield* host.waitFor((all) => all.length === 2)
      expect(all.map((i) => [i.fabric.agent_id, i.message]).sort()).toEqual([[ADA, "after the defect"], [BOB, "after the defect"]])
    }))

  it.scopedLive("closing the plugin closes every socket", (): Test =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ secondGuild: true })
      yield* Effect.scoped(running(world))
      yield* connected(world, 0)
      yield* connected(world, 0, world.second!)
    }))
})
