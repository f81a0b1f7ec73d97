import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Logger, Redacted, Ref, Schema, TestClock } from "effect"
import { CenterApi } from "../../src/fabric/CenterApi.js"
import { Session } from "../../src/fabric/FabricContract.js"
import { FabricError } from "../../src/fabric/FabricError.js"
import type { LoadedProfile } from "../../src/profile/ProfileSchema.js"
import { Sessions } from "../../src/sessions/Sessions.js"
import { profileLayer, profileOf } from "../fabric/support.js"

const GUILD = "g_1"

const sessionFor = (apiKey: string, guilds: ReadonlyArray<string>) =>
  Schema.decodeUnknownSync(Session)({
    user: { id: `u_${apiKey}`, display_name: apiKey },
    guilds: guilds.map((id) => ({ node_id: id, name: id, endpoint: `http://${id}.test` })),
    guild_access_tokens: guilds.map((id) => ({ guild_node_id: id, token: `jwt-${id}`, expires_at: "2030-01-01T00:00:00Z" }))
  })

interface CenterScript {
  /** Guilds in the session of login number `n` (1-based). */
  readonly guilds?: (n: number) => ReadonlyArray<string>
  /** Login number `n` fails with this. */
  readonly fail?: (n: number) => FabricError | undefined
  /** Each login waits for this before answering. */
  readonly gate?: Deferred.Deferred<void>
}

/** A center that counts logins and answers from the script. */
const fakeCenter = (script: CenterScript = {}) =>
  Effect.gen(function*() {
    const logins = yield* Ref.make(0)
    const center = CenterApi.make({
      login: (_base, apiKey) =>
        Effect.gen(function*() {
          const n = yield* Ref.updateAndGet(logins, (k) => k + 1)
          if (script.gate !== undefined) yield* Deferred.await(script.gate)
          const error = script.fail?.(n)
          if (error !== undefined) return yield* error
          return sessionFor(Redacted.value(apiKey), script.guilds?.(n) ?? [GUILD])
        })
    })
    return { layer: Layer.succeed(CenterApi, center), logins: Ref.get(logins) }
  })

const withSessions = <A, E>(
  profile: LoadedProfile,
  script: CenterScript,
  body: (sessions: Sessions, logins: Effect.Effect<number>) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const center = yield* fakeCenter(script)
    const sessions = yield* Effect.provide(Sessions, Sessions.Default.pipe(Layer.provide(center.layer), Layer.provide(profileLayer(profile))))
    return yield* body(sessions, center.logins)
  })

const oneAgent = profileOf({
  agents: ["alice"],
  config: { session_ttl_seconds: 480 },
  bindings: [{ agentId: "alice", guildNodeId: GUILD, channelId: "c_1" }]
})

describe("Sessions cache", () => {
  it.effect("logs in once and again only after session_ttl_seconds", () =>
    withSessions(oneAgent, {}, (sessions, logins) =>
      Effect.gen(function*() {
        const first = yield* sessions.get("alice")
        expect(first.userId).toBe("u_key-of-alice")
        yield* TestClock.adjust("479 seconds")
        expect((yield* sessions.get("alice")).generation).toBe(first.generation)
        expect(yield* logins).toBe(1)
        yield* TestClock.adjust("2 seconds")
        const second = yield* sessions.get("alice")
        expect(yield* logins).toBe(2)
        expect(second.generation).toBeGreaterThan(first.generation)
      })))

  it.effect("coalesces concurrent lookups of one agent into one login", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      yield* withSessions(oneAgent, { gate }, (sessions, logins) =>
        Effect.gen(function*() {
          const fibers = yield* Effect.forEach(Array.from({ length: 8 }), () => Effect.fork(sessions.guild("alice", GUILD)))
          yield* Effect.yieldNow()
          yield* Deferred.succeed(gate, undefined)
          const accesses = yield* Fiber.joinAll(fibers)
          expect(yield* logins).toBe(1)
          expect(new Set(accesses.map((a) => a.generation)).size).toBe(1)
          expect(accesses[0]).toMatchObject({ agentId: "alice", guildNodeId: GUILD, endpoint: "http://g_1.test", userId: "u_key-of-alice" })
          expect(Redacted.value(accesses[0]!.token)).toBe("jwt-g_1")
        }))
    }))

  it.effect("invalidate with a generation drops only that login: N failing sockets cause one new login", () =>
    withSessions(oneAgent, {}, (sessions, logins) =>
      Effect.gen(function*() {
        const stale = yield* sessions.guild("alice", GUILD)
        // Five sockets of alice fail on the same token, one after the other.
        yield* Effect.forEach(Array.from({ length: 5 }), () =>
          sessions.invalidate("alice", stale.generation).pipe(Effect.zipRight(sessions.guild("alice", GUILD))))
        expect(yield* logins).toBe(2)
        const fresh = yield* sessions.get("alice")
        expect(fresh.generation).not.toBe(stale.generation)
        yield* sessions.invalidate("alice", stale.generation)
        expect((yield* sessions.get("alice")).generation).toBe(fresh.generation)
        yield* sessions.invalidate("alice")
        yield* sessions.get("alice")
        expect(yield* logins).toBe(3)
      })))

  it.effect("concurrent invalidations of one generation cause one login", () =>
    withSessions(oneAgent, {}, (sessions, logins) =>
      Effect.gen(function*() {
        const stale = yield* sessions.guild("alice", GUILD)
        const accesses = yield* Effect.forEach(
          Array.from({ length: 6 }),
          () => sessions.invalidate("alice", stale.generation).pipe(Effect.zipRight(sessions.guild("alice", GUILD))),
          { concurrency: "unbounded" }
        )
        expect(yield* logins).toBe(2)
        expect(new Set(accesses.map((a) => a.generation))).toEqual(new Set([stale.generation + 1]))
      })))
})

describe("Sessions.guild", () => {
  it.effect("logs in again once when the guild is missing, and finds it in the new session", () =>
    withSessions(oneAgent, { guilds: (n) => (n === 1 ? [] : [GUILD]) }, (sessions, logins) =>
      Effect.gen(function*() {
        const access = yield* sessions.guild("alice", GUILD)
        expect(access.endpoint).toBe("http://g_1.test")
        expect(yield* logins).toBe(2)
      })))

  it.effect("fails with no_guild_access after one fresh login, listing the agent's guilds and the fix", () =>
    withSessions(oneAgent, { guilds: () => ["g_other"] }, (sessions, logins) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(sessions.guild("alice", GUILD))
        expect(error).toMatchObject({ _tag: "SessionError", reason: "no_guild_access", agentId: "alice", guildNodeId: GUILD })
        expect(error.message).toContain("its guilds: g_other")
        expect(error.message).toContain("fabric_guild_node_id")
        expect(yield* logins).toBe(2)
      })))
})

describe("Sessions identities and failures", () => {
  const profile = profileOf({ agents: ["alice"], disabled: ["bob"] })

  it.effect("an absent or disabled agent has no identity, and no login is tried", () =>
    withSessions(profile, {}, (sessions, logins) =>
      Effect.gen(function*() {
        const absent = yield* Effect.flip(sessions.get("carol"))
        const disabled = yield* Effect.flip(sessions.guild("bob", GUILD))
        expect(absent).toMatchObject({ reason: "no_identity", agentId: "carol" })
        expect(absent.message).toContain("plexum-fabric-register --agent-id carol")
        expect(disabled.message).toContain("a disabled Fabric identity")
        expect(yield* logins).toBe(0)
      })))

  const unauthorized = new FabricError({ route: "POST /agents/login", reason: "unauthorized", status: 401, message: "refused" })
  const down = new FabricError({ route: "POST /agents/login", reason: "unavailable", message: "the center did not answer" })

  it.effect("a refused key is login_failed naming the register command, and is not cached", () =>
    withSessions(profile, { fail: (n) => (n === 1 ? unauthorized : undefined) }, (sessions, logins) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(sessions.get("alice"))
        expect(error.reason).toBe("login_failed")
        expect(error.message).toContain("plexum-fabric-register --agent-id alice --api-key <key>")
        expect(error.message).not.toContain("key-of-alice")
        yield* TestClock.adjust("1 millis")
        yield* sessions.get("alice")
        expect(yield* logins).toBe(2)
      })))

  it.effect("a center that does not answer is center_unavailable", () =>
    withSessions(profile, { fail: () => down }, (sessions) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(sessions.get("alice"))
        expect(error.reason).toBe("center_unavailable")
        expect(error.message).toContain("center_api_base")
      })))
})

describe("Sessions.warm", () => {
  it.effect("logs in each bound agent once; warns, naming the agent and the fix, and never fails", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
      })
      const profile = profileOf({
        agents: ["alice", "bob", "idle"],
        bindings: [
          { agentId: "alice", guildNodeId: GUILD, channelId: "c_1" },
          { agentId: "alice", guildNodeId: "g_2", channelId: "c_2" },
          { agentId: "bob", guildNodeId: GUILD, channelId: "c_3" },
          { agentId: "ghost", guildNodeId: GUILD, channelId: "c_4" }
        ]
      })
      const refused = new FabricError({ route: "POST /agents/login", reason: "unauthorized", status: 401, message: "refused" })
      yield* withSessions(profile, { fail: (n) => (n === 2 ? refused : undefined) }, (sessions, logins) =>
        Effect.gen(function*() {
          yield* sessions.warm.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
          expect(yield* logins).toBe(2)
          const warnings = lines.filter((line) => line.startsWith("WARN"))
          expect(warnings).toHaveLength(2)
          expect(warnings.some((w) => w.includes("ghost") && w.includes("plexum-fabric-register --agent-id ghost"))).toBe(true)
          expect(warnings.some((w) => /alice|bob/.test(w) && w.includes("plexum-fabric-register --agent-id"))).toBe(true)
        }))
    }))
})
