/**
 * The demo: a local Fabric (the sim) with a guild, a person (alice) and an agent (Echo); a
 * Plexum profile written with the real commands; the built plugin under a small host that runs
 * an echo agent. alice writes in a DM and, with a wake-up, in a group channel; each answer is
 * shown with the time of every hop, and checked in Fabric's own store. Then the plugin is shut
 * down the way a gateway does it.
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

/** The plugin is connected once the guild node sees the agent's socket. */
const awaitAgentSocket = (world: World, host: PluginHost) =>
  world.sim.sockets(world.guildId).pipe(
    Effect.map((sockets) => sockets.some((s) => s.user_id === world.echoUserId)),
    Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (connected) => connected }),
    Effect.timeout(HOP_TIMEOUT),
    Effect.catchAll(() =>
      Effect.flatMap(host.stderr, (stderr) =>
        new DemoError({ message: `the plugin did not connect to the guild within ${Duration.format(HOP_TIMEOUT)}; its stderr:\n${stderr}` }))
    )
  )

const isEchoOf = (world: World, room: Room, posted: Message) => (m: Message) =>
  m.channel_id === room.channelId && m.author_id === world.echoUserId && (m.reply_to === posted.id || m.reply_to == null)

/** alice writes; the transcript shows her line, then each hop of the echo as it comes back. */
const exchange = (
  world: World,
  host: PluginHost,
  agent: EchoAgent,
  watch: Effect.Effect.Success<ReturnType<typeof watchFabric>>,
  room: Room,
  content: string,
  wakeup: boolean
) =>
  Effect.gen(function*() {
    const postedAt = yield* nowMs
    const posted = yield* world.sim.postMessage(world.guildId, room.channelId, { author_id: world.aliceId, content, wakeup }).pipe(
      Effect.mapError(simFailure(`alice cannot post in ${room.label}`))
    )
    yield* Console.log(said(room.label, "alice", content))
    const withStderr = <A>(effect: Effect.Effect<A, DemoError>) =>
      Effect.catchAll(effect, (e) => Effect.flatMap(host.stderr, (stderr) => new DemoError({ message: `${e.message}; plugin stderr:\n${stderr}` })))
    const hop = yield* withStderr(agent.awaitHop(posted.id, HOP_TIMEOUT))
    if (hop.failed) return yield* new DemoError({ message: `the echo agent's send failed: ${hop.result}` })
    const seen = yield* withStderr(watch.awaitMessage(isEchoOf(world, room, posted), `the echo of ${posted.id}`, HOP_TIMEOUT))
    const typing = yield* watch.sawTyping(world.echoUserId, room.channelId, HOP_TIMEOUT)
    yield* Console.log(renderExchange(room.label, "Echo", { postedAt, hop, reply: seen.message, replySeenAt: seen.at, typing }))
    return posted
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

const scripted: ReadonlyArray<{ readonly room: "dm" | "general"; readonly content: string; readonly wakeup: boolean }> = [
  { room: "dm", content: "hi Echo, are you there?", wakeup: false },
  // Chatter that does not wake Echo: it reaches the agent as context of the next wake-up.
  { room: "general", content: "the deploy finished at noon", wakeup: false },
  { room: "general", content: "and the tests are all passing", wakeup: false },
  { room: "general", content: "@Echo please repeat after me: the build is green", wakeup: true },
  // An answer over Fabric's 4000 characters: `send` posts it in parts.
  { room: "general", content: "@Echo write a long report on the build", wakeup: true }
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
        bindings: [{ name: CHANNEL_NAME, agentId: AGENT_ID, guildNodeId: world.guildId, channelId: world.rooms.general.channelId }]
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
    yield* progress.step("waiting for the plugin's socket to the guild", awaitAgentSocket(world, host))

    yield* Console.log(
      `Fabric center ${world.sim.centerApiBase}, guild ${world.guildId} at ${endpoint}\n` +
        `Plexum agent "${AGENT_ID}" is Fabric user ${world.echoUserId}; channel binding "${CHANNEL_NAME}" → #general\n`
    )
    const sent: Array<{ readonly room: Room; readonly posted: Message }> = []
    const say = (line: { readonly room: "dm" | "general"; readonly content: string; readonly wakeup: boolean }) =>
      line.room === "general" && !line.wakeup
        // Not a wake-up: nothing comes back; it is recorded as history for the next one.
        ? world.sim.postMessage(world.guildId, world.rooms.general.channelId, { author_id: world.aliceId, content: line.content }).pipe(
          Effect.mapError(simFailure("alice cannot post in #general")),
          Effect.zipRight(Console.log(said(world.rooms.general.label, "alice", line.content)))
        )
        : Effect.map(
          exchange(world, host, agent, watch, world.rooms[line.room], line.content, line.wakeup),
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
