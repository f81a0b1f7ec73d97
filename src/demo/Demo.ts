/**
 * The demo: a local Fabric (the sim) with a guild, a person (alice) and an agent (Echo); a
 * Plexum profile written with the real commands; the built plugin under a small host that runs
 * an echo agent. alice writes in a DM and, with a wake-up, in a group channel; each answer is
 * shown with the time of every hop, and checked in Fabric's own store. The plugin coalesces
 * (`coalesce_ms`): a quick burst of alice's messages reaches the agent as one notification, and
 * the agent answers it once. Then the plugin is shut down the way a gateway does it.
 *
 * Everything (sim, profile directory, plugin process, sockets, fibers) lives in one scope.
 */
import type { CommandExecutor } from "@effect/platform/CommandExecutor"
import type { FileSystem, Path } from "@effect/platform"
import { Console, Duration, Effect, Schedule, type Scope, Stream } from "effect"
import type { Message } from "../fabric/FabricContract.js"
import { Methods } from "../host/HostProtocol.js"
import type { GuildSocket } from "../fabric/GuildSocket.js"
import { Progress } from "../cli/Progress.js"
import { Sim } from "../sim/Sim.js"
import { SimSeed } from "../sim/SimSeed.js"
import { VERSION } from "../version.js"
import { DemoError } from "./DemoError.js"
import { makeDemoProfile } from "./DemoProfile.js"
import { type EchoAgent, runEchoAgent } from "./EchoAgent.js"
import { watchFabric } from "./FabricWatch.js"
import { nowMs, type PluginHost, startPluginHost } from "./PluginHost.js"
import { renderExchange, said } from "./Transcript.js"

export interface DemoOptions {
  /** Directory of the built bins (plugin.js, register.js, bind.js). */
  readonly binDir: string
  /** Lines typed as alice; the scripted conversation when absent. */
  readonly input?: Stream.Stream<string> | undefined
}

/** How long one hop of the demo may take before the demo gives up and says where it stuck. */
const HOP_TIMEOUT = Duration.seconds(15)
/**
 * The profile's `coalesce_ms`: alice's waking messages less than this apart reach the agent as
 * one notification, sent once she has been quiet this long. Long enough for the scripted burst
 * (three posts a few ms apart) to merge even on a busy machine; short enough that the wait it
 * adds to every answer reads as a pause, not a hang.
 */
const COALESCE_MS = 1500
/**
 * How long the agent may wait for the notification of a message: a hop, plus the longest a
 * burst is held (host-protocol.md v1.1: at the latest 4 × `coalesce_ms` after its first message).
 */
const INBOUND_TIMEOUT = Duration.sum(HOP_TIMEOUT, Duration.millis(4 * COALESCE_MS))
const AGENT_ID = "echo"
const CHANNEL_NAME = "fabric-general"

const seed = new SimSeed({
  users: [
    { key: "alice", display_name: "alice", kind: "user" },
    { key: "echo", display_name: "Echo", kind: "agent" }
  ],
  guilds: [{
    key: "demo",
    name: "Demo guild",
    members: ["alice", "echo"],
    channels: [{ key: "general", name: "general", x_type: "group", members: ["alice", "echo"] }]
  }]
})

const simFailure = (what: string) => (e: { readonly message: string }) => new DemoError({ message: `${what}: ${e.message}` })

interface World {
  readonly sim: Sim
  readonly guildId: string
  readonly aliceId: string
  readonly echoUserId: string
  readonly rooms: { readonly dm: Room; readonly general: Room }
}

interface Room {
  readonly channelId: string
  readonly label: string
}

const setUpFabric = Effect.gen(function*() {
  const sim = yield* Sim.start()
  const seeded = yield* sim.seed(seed)
  const guild = seeded.guilds["demo"]!
  const aliceId = seeded.users["alice"]!.id
  const echo = seeded.users["echo"]!
  const dm = yield* sim.openDm(guild.node_id, aliceId, echo.id)
  return {
    world: {
      sim,
      guildId: guild.node_id,
      aliceId,
      echoUserId: echo.id,
      rooms: {
        dm: { channelId: dm.id, label: "DM alice↔Echo" },
        general: { channelId: guild.channels["general"]!, label: "#general" }
      }
    } satisfies World,
    endpoint: guild.endpoint,
    apiKey: echo.api_key!
  }
}).pipe(Effect.mapError(simFailure("cannot start the local Fabric")))

const startPlugin = (binDir: string, profileRoot: string) =>
  Effect.gen(function*() {
    const host = yield* startPluginHost({ pluginBin: `${binDir}/plugin.js`, profileRoot })
    yield* host.request(Methods.initialize, {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "plexum-fabric-demo", version: VERSION }
    })
    yield* host.notify(Methods.initialized)
    return host
  }).pipe(
    Effect.catchTag("SystemError", "BadArgument", "HostError", (e) => new DemoError({ message: `cannot start the plugin: ${e.message}` }))
  )

interface DebugFibers {
  readonly fibers?: ReadonlyArray<{ readonly kind?: string; readonly guild_node_id?: string; readonly state?: string }>
}

/**
 * The plugin is live in the guild once the guild node sees the agent's socket and the plugin
 * reports its socket session `connected` (`plexum/debug/fibers`): the channel list is loaded and
 * the start-up catch-up done. From then on alice's messages take the live path, where
 * `coalesce_ms` holds them (a catch-up delivers what it finds at once).
 */
const awaitAgentLive = (world: World, host: PluginHost) =>
  Effect.all([
    world.sim.sockets(world.guildId).pipe(Effect.map((sockets) => sockets.some((s) => s.user_id === world.echoUserId))),
    host.request(Methods.debugFibers, {}).pipe(
      Effect.map((result) =>
        ((result as DebugFibers | undefined)?.fibers ?? []).some((f) =>
          f.kind === "socket_session" && f.guild_node_id === world.guildId && f.state === "connected"
        )
      )
    )
  ]).pipe(
    Effect.map(([socket, live]) => socket && live),
    Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (live) => live }),
    Effect.timeout(HOP_TIMEOUT),
    Effect.catchAll(() =>
      Effect.flatMap(host.stderr, (stderr) =>
        new DemoError({ message: `the plugin did not go live in the guild within ${Duration.format(HOP_TIMEOUT)}; its stderr:\n${stderr}` }))
    )
  )

/** The agent's answer to `posted`: its first (or only) part replies to it (`send` with `reply_to`). */
const isEchoOf = (world: World, room: Room, posted: Message) => (m: Message) =>
  m.channel_id === room.channelId && m.author_id === world.echoUserId && m.reply_to === posted.id

/** What every exchange plays on: the world, the plugin's host, the echo agent and the watch on Fabric. */
interface Stage {
  readonly world: World
  readonly host: PluginHost
  readonly agent: EchoAgent
  readonly watch: Effect.Effect.Success<ReturnType<typeof watchFabric>>
}

/** alice writes; the transcript shows her line, then each hop of the echo as it comes back. */
const exchange = (
  stage: Stage,
  room: Room,
  content: string,
  wakeup: boolean
) =>
  Effect.gen(function*() {
    const { world } = stage
    const postedAt = yield* nowMs
    const posted = yield* world.sim.postMessage(world.guildId, room.channelId, { author_id: world.aliceId, content, wakeup }).pipe(
      Effect.mapError(simFailure(`alice cannot post in ${room.label}`))
    )
    yield* Console.log(said(room.label, "alice", content))
    yield* awaitEcho(stage, room, [posted], postedAt)
    return posted
  })

/**
 * The agent's answer to `posted` (alice's messages, oldest first): it must come in ONE inbound
 * notification carrying exactly their ids, oldest first (`fabric.coalesced_message_ids`, then
 * `fabric.message_id`), and be seen in Fabric; the transcript shows each hop from `postedAt`.
 */
const awaitEcho = (
  stage: Stage,
  room: Room,
  posted: ReadonlyArray<Message>,
  postedAt: number
) =>
  Effect.gen(function*() {
    const { agent, host, watch, world } = stage
    const newest = posted.at(-1)!
    const withStderr = <A>(effect: Effect.Effect<A, DemoError>) =>
      Effect.catchAll(effect, (e) => Effect.flatMap(host.stderr, (stderr) => new DemoError({ message: `${e.message}; plugin stderr:\n${stderr}` })))
    const hop = yield* withStderr(agent.awaitHop(newest.id, INBOUND_TIMEOUT))
    const expected = posted.map((m) => m.id)
    if (hop.messageIds.join(" ") !== expected.join(" ")) {
      return yield* new DemoError({
        message: `alice's ${expected.length} message(s) ${expected.join(", ")} were not delivered as one notification: ` +
          `the notification of ${newest.id} carried ${hop.messageIds.join(", ")}`
      })
    }
    if (hop.failed) return yield* new DemoError({ message: `the echo agent's send failed: ${hop.result}` })
    const seen = yield* withStderr(watch.awaitMessage(isEchoOf(world, room, newest), `the echo of ${newest.id}`, HOP_TIMEOUT))
    const typing = yield* watch.sawTyping(world.echoUserId, room.channelId, HOP_TIMEOUT)
    yield* Console.log(
      renderExchange(room.label, "Echo", { postedAt, hop, reply: seen.message, replySeenAt: seen.at, typing, coalesceMs: COALESCE_MS })
    )
    if (posted.length > 1) {
      // Answered once: in Fabric's store, Echo replied to none of the earlier messages.
      const stored = yield* world.sim.messages(world.guildId, room.channelId).pipe(Effect.mapError(simFailure("cannot read Fabric's messages")))
      const answers = stored.filter((m) => m.author_id === world.echoUserId && m.reply_to != null && expected.includes(m.reply_to))
      if (answers.length !== 1) {
        return yield* new DemoError({ message: `Echo answered alice's burst ${answers.length} times: ${answers.map((m) => m.id).join(", ")}` })
      }
      yield* Console.log(
        `   ✓ one inbound notification carried all ${posted.length} of alice's messages, oldest first; Echo answered once (checked in the sim's store)`
      )
    }
  })

/**
 * alice writes `contents` quickly, each with a wake-up (posts a few ms apart, well inside
 * `coalesce_ms`): the plugin delivers them as one notification, and the agent answers once.
 */
const burstExchange = (
  stage: Stage,
  room: Room,
  contents: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const { world } = stage
    const posted: Array<Message> = []
    let lastPostedAt = 0
    for (const content of contents) {
      lastPostedAt = yield* nowMs
      // No wake-up flag: in a DM every message wakes the agent (fabric-api.md).
      posted.push(
        yield* world.sim.postMessage(world.guildId, room.channelId, { author_id: world.aliceId, content }).pipe(
          Effect.mapError(simFailure(`alice cannot post in ${room.label}`))
        )
      )
    }
    // Printed after the posts: the lines must not stretch the gaps between them.
    yield* Effect.forEach(contents, (content) => Console.log(said(room.label, "alice", content)), { discard: true })
    yield* awaitEcho(stage, room, posted, lastPostedAt)
    return posted.at(-1)!
  })

/** Fabric's own store must hold the echo of every message alice sent, in the room she sent it. */
const verifyInFabric = (world: World, sent: ReadonlyArray<{ readonly room: Room; readonly posted: Message }>) =>
  Effect.gen(function*() {
    for (const { posted, room } of sent) {
      const stored = yield* world.sim.messages(world.guildId, room.channelId).pipe(Effect.mapError(simFailure("cannot read Fabric's messages")))
      if (!stored.some(isEchoOf(world, room, posted))) {
        return yield* new DemoError({ message: `Fabric has no echo of "${posted.content}" in ${room.label}` })
      }
    }
    yield* Console.log(`\n✓ Fabric holds all ${sent.length} echo(es), each in the room it answers (checked in the sim's store)`)
  })

interface Line {
  readonly room: "dm" | "general"
  readonly content: string
  readonly wakeup: boolean
}

/**
 * Several lines sent in quick succession in the DM, where each one wakes the agent. (In
 * `#general` only the line with a mention would: the others would be its history.)
 */
interface Burst {
  readonly room: "dm"
  readonly burst: ReadonlyArray<string>
}

const scripted: ReadonlyArray<Line | Burst> = [
  { room: "dm", content: "hi Echo, are you there?", wakeup: false },
  // Chatter that does not wake Echo: it reaches the agent as context of the next wake-up.
  { room: "general", content: "the deploy finished at noon", wakeup: false },
  { room: "general", content: "and the tests are all passing", wakeup: false },
  { room: "general", content: "@Echo please repeat after me: the build is green", wakeup: true },
  // An answer over Fabric's 4000 characters: `send` posts it in parts.
  { room: "general", content: "@Echo write a long report on the build", wakeup: true },
  // A quick burst (v1.1 coalescing): one notification, one answer.
  { room: "dm", burst: ["hey", "quick q", "can you check the deploy log?"] }
]

/** `#general <text>` goes to the group channel with a wake-up; anything else to the DM. */
const parseTyped = (line: string) =>
  line.startsWith("#general ")
    ? { room: "general" as const, content: line.slice("#general ".length).trim(), wakeup: true }
    : { room: "dm" as const, content: line.trim(), wakeup: false }

export const runDemo = (options: DemoOptions): Effect.Effect<void, DemoError, Progress | Scope.Scope | DemoPlatform> =>
  Effect.gen(function*() {
    const progress = yield* Progress
    const { apiKey, endpoint, world } = yield* progress.step("starting the local Fabric (center, guild node, alice, agent Echo)", setUpFabric)
    const root = yield* progress.step(
      "writing a Plexum profile with plexum-fabric-register and plexum-fabric-bind",
      makeDemoProfile({
        binDir: options.binDir,
        centerApiBase: world.sim.centerApiBase,
        agentId: AGENT_ID,
        apiKey,
        bindings: [{ name: CHANNEL_NAME, agentId: AGENT_ID, guildNodeId: world.guildId, channelId: world.rooms.general.channelId }],
        config: { coalesce_ms: COALESCE_MS }
      })
    )
    const watch = yield* progress.step(
      "connecting alice to the guild (to see what Fabric sees)",
      Effect.flatMap(
        Effect.mapError(world.sim.issueToken(world.guildId, world.aliceId), simFailure("no guild token for alice")),
        (token) => watchFabric(endpoint, token.token)
      )
    )
    const host = yield* progress.step("starting the plugin under the demo host (initialize)", startPlugin(options.binDir, root))
    // The agent answers once alice sees it typing, so the transcript shows the indicator.
    const agent = yield* runEchoAgent(host, {
      beforeAnswer: (inbound) => watch.sawTyping(world.echoUserId, inbound.fabric.channel_id, HOP_TIMEOUT)
    })
    yield* progress.step("waiting for the plugin's socket to the guild (connected and caught up)", awaitAgentLive(world, host))
    const stage: Stage = { world, host, agent, watch }

    yield* Console.log(
      `Fabric center ${world.sim.centerApiBase}, guild ${world.guildId} at ${endpoint}\n` +
        `Plexum agent "${AGENT_ID}" is Fabric user ${world.echoUserId}; channel binding "${CHANNEL_NAME}" → #general\n` +
        `coalesce_ms is ${COALESCE_MS}: each waking message reaches Echo once alice has been quiet ${COALESCE_MS} ms, ` +
        `and a quick burst of hers as one notification\n`
    )
    const sent: Array<{ readonly room: Room; readonly posted: Message }> = []
    const say = (line: Line | Burst) =>
      "burst" in line
        ? Effect.map(
          burstExchange(stage, world.rooms[line.room], line.burst),
          (posted) => void sent.push({ room: world.rooms[line.room], posted })
        )
        : line.room === "general" && !line.wakeup
        // Not a wake-up: nothing comes back; it is recorded as history for the next one.
        ? world.sim.postMessage(world.guildId, world.rooms.general.channelId, { author_id: world.aliceId, content: line.content }).pipe(
          Effect.mapError(simFailure("alice cannot post in #general")),
          Effect.zipRight(Console.log(said(world.rooms.general.label, "alice", line.content)))
        )
        : Effect.map(
          exchange(stage, world.rooms[line.room], line.content, line.wakeup),
          (posted) => void sent.push({ room: world.rooms[line.room], posted })
        )
    if (options.input === undefined) {
      yield* Effect.forEach(scripted, say, { discard: true })
    } else {
      yield* Console.log("Type as alice: a line goes to the DM, \"#general <text>\" to the group channel with a wake-up. Ctrl-D ends.")
      yield* options.input.pipe(
        Stream.map(parseTyped),
        Stream.filter((line) => line.content.length > 0),
        Stream.runForEach(say)
      )
    }
    yield* verifyInFabric(world, sent)

    const code = yield* progress.step("stopping the plugin (shutdown)", host.shutdown).pipe(
      Effect.mapError((e) => new DemoError({ message: e.message }))
    )
    if (code !== 0) return yield* new DemoError({ message: `the plugin exited with status ${code} after shutdown` })
    yield* Console.log("✓ the plugin stopped cleanly (exit status 0)")
  })

/** What the demo needs from the platform; `main.ts` provides the Node implementations. */
export type DemoPlatform = CommandExecutor | FileSystem.FileSystem | Path.Path | GuildSocket
