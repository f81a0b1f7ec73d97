/**
 * The sim: a local Fabric stack (a center and any number of guild nodes) plus the controls a
 * test needs to provoke what a real Fabric does rarely (token expiry, restarts, lost events,
 * failing calls). Every server lives in the scope the sim was started in.
 *
 *   const sim = yield* Sim.start({ tokenTtlSeconds: 2 })   // in a scope
 *   // or: Layer `Sim.Default({ ... })`
 */
import { Clock, Effect, Either, Redacted, Scope } from "effect"
import { randomBytes } from "node:crypto"
import { makeCenter } from "./Center.js"
import { makeControlApi } from "./ControlApi.js"
import type { GuildNode } from "./GuildNode.js"
import { makeGuildNode } from "./GuildNode.js"
import type { SimListenError } from "./HttpKit.js"
import * as Jwt from "./Jwt.js"
import type { SimCore } from "./SimCore.js"
import { issueGuildToken } from "./SimCore.js"
import type { SimControls } from "./SimControls.js"
import type { SeedResult, SimSeed } from "./SimSeed.js"
import type { SimFault } from "./SimState.js"
import { fault, GuildState, SimState } from "./SimState.js"

/**
 * Messages a flat-out burst posts per turn of the event loop. A node's messages come from many
 * requests, each in a turn of its own, so its sockets write as it goes. Posted in one turn, a
 * burst waited in engine.io's write buffers (a socket writes again only once its last write has
 * completed, which takes a turn) and reached every client at once after the last post: one
 * flood, its receivers idle until then.
 */
const TURN_MESSAGES = 200

/** Lets the event loop turn (I/O callbacks run) without a timer's 1 ms. */
const nextTurn: Effect.Effect<void> = Effect.async((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

export interface SimOptions {
  /** Center port; 0 (default) picks an ephemeral one. */
  readonly centerPort?: number | undefined
  /** Guild token lifetime; default 900 s. */
  readonly tokenTtlSeconds?: number | undefined
}

export interface SimShape extends SimControls {
  /** `center_api_base` for the plugin config: `http://127.0.0.1:<port>/api`. */
  readonly centerApiBase: string
  /** Base of the HTTP control API: `http://127.0.0.1:<port>/_sim`. */
  readonly controlBase: string
}

const newApiKey = () => `sim_${randomBytes(18).toString("base64url")}`

const make = (options: SimOptions = {}): Effect.Effect<SimShape, SimListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const core: SimCore = { state: new SimState(options.tokenTtlSeconds), secret: Jwt.makeSecret() }
    const { state } = core
    const nodes = new Map<string, GuildNode>()
    const nodeOf = (guildId: string): Either.Either<GuildNode, SimFault> => {
      const node = nodes.get(guildId)
      return node === undefined ? fault(404, "unknown_guild", `no guild node ${guildId} in the sim`) : Either.right(node)
    }
    const onNode = <A, E>(guildId: string, f: (node: GuildNode) => Effect.Effect<A, E>) =>
      Effect.flatMap(nodeOf(guildId), f)

    const createAgent: SimControls["createAgent"] = Effect.fn("Sim.createAgent")(function*(agent) {
      const apiKey = agent.api_key ?? newApiKey()
      if (state.apiKeys.has(apiKey)) return yield* fault(400, "invalid_api_key", "api_key is already used by another agent")
      const user = state.addUser("agent", agent.display_name, agent.email)
      state.apiKeys.set(apiKey, user.id)
      return { ...user, api_key: Redacted.make(apiKey) }
    })

    const createGuild: SimControls["createGuild"] = Effect.fn("Sim.createGuild")(function*(guild) {
      const guildState = new GuildState(state, state.nextId("g"), guild.name)
      state.guilds.set(guildState.id, guildState)
      const node = yield* makeGuildNode(core, guildState, guild.port ?? 0).pipe(Scope.extend(scope))
      nodes.set(node.id, node)
      return { node_id: node.id, name: node.name, endpoint: node.endpoint }
    })

    const postMessage: SimControls["postMessage"] = (guildId, channelId, post) =>
      onNode(guildId, (node) =>
        node.postMessage(post.author_id, channelId, {
          author_id: post.author_id,
          content: post.content,
          wakeup: post.wakeup,
          reply_to: post.reply_to
        }))

    const controls: SimControls = {
      createUser: Effect.fn("Sim.createUser")((user) => Effect.sync(() => state.addUser("user", user.display_name, user.email))),
      createAgent,
      createGuild,
      addMember: Effect.fn("Sim.addMember")((guildId, userId) => onNode(guildId, (node) => node.addMember(userId))),
      createChannel: Effect.fn("Sim.createChannel")((guildId, channel) =>
        onNode(guildId, (node) =>
          node.createChannel(channel.created_by, { name: channel.name, x_type: channel.x_type, member_ids: channel.member_ids }))
      ),
      openDm: Effect.fn("Sim.openDm")((guildId, userId, peerId) => onNode(guildId, (node) => node.openDm(userId, peerId))),
      joinChannel: Effect.fn("Sim.joinChannel")((guildId, userId, channelId) =>
        onNode(guildId, (node) => node.join(userId, channelId))
      ),
      leaveChannel: Effect.fn("Sim.leaveChannel")((guildId, userId, channelId) =>
        onNode(guildId, (node) => node.leave(userId, channelId))
      ),
      postMessage: Effect.fn("Sim.postMessage")(postMessage),
      postBurst: Effect.fn("Sim.postBurst")(function*(guildId, channelId, burst) {
        const start = yield* Clock.currentTimeMillis
        const chunk = burst.per_second === undefined ? TURN_MESSAGES : Math.max(1, Math.ceil(burst.per_second / 100))
        for (let posted = 0; posted < burst.count;) {
          const upTo = Math.min(burst.count, posted + chunk)
          for (; posted < upTo; posted++) {
            yield* postMessage(guildId, channelId, { ...burst, content: `${burst.content} #${posted + 1}` })
          }
          if (burst.per_second === undefined) {
            if (posted < burst.count) yield* nextTurn
          } else {
            const due = start + (posted / burst.per_second) * 1000
            yield* Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sleep(Math.max(0, due - now)))
          }
        }
        return burst.count
      }),
      editMessage: Effect.fn("Sim.editMessage")((guildId, channelId, messageId, content) =>
        onNode(guildId, (node) => node.editMessage(channelId, messageId, content))
      ),
      messages: Effect.fn("Sim.messages")((guildId, channelId) =>
        Effect.flatMap(nodeOf(guildId), (node) => Either.map(node.guild.findChannel(channelId), (rec) => rec.messages.slice()))
      ),
      commandPuts: Effect.fn("Sim.commandPuts")((guildId) =>
        Effect.map(nodeOf(guildId), (node) => node.guild.commandPuts.slice())
      ),
      setPresence: Effect.fn("Sim.setPresence")((guildId, userId, status) =>
        onNode(guildId, (node) => node.setPresence(userId, status))
      ),
      calls: Effect.fn("Sim.calls")((guildId) => Effect.map(nodeOf(guildId), (node) => node.guild.calls.calls.slice())),
      setTypingSupported: Effect.fn("Sim.setTypingSupported")((guildId, supported) =>
        Effect.map(nodeOf(guildId), (node) => {
          node.guild.calls.typingSupported = supported
        })
      ),
      setHistoryLag: Effect.fn("Sim.setHistoryLag")((guildId, lagMs) =>
        Effect.map(nodeOf(guildId), (node) => {
          node.guild.historyLagMs = lagMs
        })
      ),
      emitRaw: Effect.fn("Sim.emitRaw")((guildId, userId, event, payload) =>
        onNode(guildId, (node) => node.emitRaw(userId, event, payload))
      ),
      dropSockets: Effect.fn("Sim.dropSockets")((guildId, userId) => onNode(guildId, (node) => node.dropSockets(userId))),
      restartGuild: Effect.fn("Sim.restartGuild")((guildId) => onNode(guildId, (node) => node.restart)),
      suppress: Effect.fn("Sim.suppress")((userId, durationMs) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          state.suppressed.set(userId, durationMs === undefined ? Infinity : now + durationMs)
        })
      ),
      resume: Effect.fn("Sim.resume")((userId) => Effect.sync(() => void state.suppressed.delete(userId))),
      setTokenTtl: Effect.fn("Sim.setTokenTtl")((seconds) => Effect.sync(() => void (state.tokenTtlSeconds = seconds))),
      issueToken: Effect.fn("Sim.issueToken")((guildId, userId, ttlSeconds) =>
        Effect.flatMap(nodeOf(guildId), (node) =>
          node.guild.members.has(userId)
            ? Effect.map(Clock.currentTimeMillis, (now) => {
              const issued = issueGuildToken(core, userId, guildId, now, ttlSeconds)
              return { token: issued.token, expires_at: new Date(issued.expiresAtMs).toISOString() }
            })
            : fault(403, "not_member", `${userId} is not a member of guild ${guildId}`))
      ),
      loginCount: Effect.fn("Sim.loginCount")((userId) => Effect.sync(() => state.logins.get(userId) ?? 0)),
      socketStats: Effect.fn("Sim.socketStats")((guildId) => onNode(guildId, (node) => node.stats)),
      sockets: Effect.fn("Sim.sockets")((guildId) => onNode(guildId, (node) => node.sockets)),
      failNext: Effect.fn("Sim.failNext")((plan) =>
        Effect.sync(() =>
          void state.faults.set(`${plan.scope}:${plan.route}`, {
            remaining: plan.count ?? 1,
            status: plan.status,
            code: plan.code ?? (plan.status === 429 ? "rate_limited" : "sim_failure"),
            retryAfterSeconds: plan.retry_after_seconds
          })
        )
      ),
      seed: Effect.fn("Sim.seed")((seed) => applySeed(seed))
    }

    const applySeed = (seed: SimSeed) =>
      Effect.gen(function*() {
        if (seed.token_ttl_seconds !== undefined) state.tokenTtlSeconds = seed.token_ttl_seconds
        const users: Record<string, SeedResult["users"][string]> = {}
        for (const user of seed.users) {
          users[user.key] = user.kind === "agent"
            ? yield* createAgent(user)
            : yield* controls.createUser(user)
        }
        const userId = (key: string) =>
          users[key] === undefined ? fault(400, "unknown_user_key", `seed: no user with key "${key}"`) : Either.right(users[key].id)
        const guilds: Record<string, SeedResult["guilds"][string]> = {}
        for (const guild of seed.guilds) {
          const created = yield* createGuild(guild)
          for (const key of guild.members) yield* controls.addMember(created.node_id, yield* userId(key))
          const channels: Record<string, string> = {}
          for (const channel of guild.channels) {
            const memberIds = yield* Effect.forEach(channel.members, (key) => userId(key))
            channels[channel.key] = (yield* controls.createChannel(created.node_id, { ...channel, member_ids: memberIds })).id
          }
          guilds[guild.key] = { ...created, channels }
        }
        return { center_api_base: center.apiBase, control_base: center.controlBase, users, guilds }
      })

    const center = yield* makeCenter(core, nodes, makeControlApi(controls), options.centerPort ?? 0)
    return { ...controls, centerApiBase: center.apiBase, controlBase: center.controlBase }
  })

export class Sim extends Effect.Service<Sim>()("plexum-fabric/sim/Sim", {
  scoped: (options?: SimOptions) => make(options)
}) {
  /** A sim living in the current scope: `Sim.start(options)` in `it.scoped`. */
  static readonly start = (options?: SimOptions): Effect.Effect<Sim, SimListenError, Scope.Scope> =>
    Effect.map(make(options), (shape) => Sim.make(shape))
}
