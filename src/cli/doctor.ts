/**
 * `plexum-fabric-doctor [--profile <dir>] [--json]`: checks, in order, everything an operator
 * can get wrong between a Plexum profile and Fabric, one line each with the fix. A check that
 * cannot run because an earlier one failed is listed as skipped, with why. The exit status is 0
 * only when every check passed.
 *
 * The report goes to stdout (text or JSON); progress goes to stderr.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Layer, Option, Schema } from "effect"
import { join } from "node:path"
import { CenterApi } from "../fabric/CenterApi.js"
import { FabricApi } from "../fabric/FabricApi.js"
import type { Session } from "../fabric/FabricContract.js"
import { GuildSocket } from "../fabric/GuildSocket.js"
import { formatProfileError, Profile, resolveProfileRoot } from "../profile/Profile.js"
import { ActiveProfile, type Binding, type LoadedProfile } from "../profile/ProfileSchema.js"
import { describeWakePolicy, effectiveWakePolicy } from "../profile/WakePolicy.js"
import { SessionsLive } from "../sessions/Sessions.js"
import { VERSION } from "../version.js"
import { type CheckResult, type DoctorReport, makeReport, pass, renderJson, renderText, skip } from "./doctor/Check.js"
import { checkChannel, checkGuildAccess, checkLogin, checkSocket, socketId, socketTitle } from "./doctor/fabricChecks.js"
import { checkBindings, checkConfig, checkIdentities, checkRoot } from "./doctor/profileChecks.js"
import { CommandFailed, profileOption } from "./CommandFailed.js"
import { Progress } from "./Progress.js"

/** Some check failed; the report says which. Makes the command's exit status 1. */
export class DoctorFailed extends Schema.TaggedError<DoctorFailed>()("DoctorFailed", {
  failed: Schema.Number,
  message: Schema.String
}) {}

/**
 * The doctor's REST calls go through the plugin's own FabricApi, so they behave as the plugin
 * will; but an operator waiting at a terminal wants an answer, not four backed-off retries.
 */
const doctorProfile = (profile: LoadedProfile): LoadedProfile => ({
  ...profile,
  config: { ...profile.config, max_retries: 0, request_timeout_seconds: Math.min(profile.config.request_timeout_seconds, 10) }
})

const skipAll = (ids: ReadonlyArray<readonly [id: string, title: string]>, why: string) =>
  ids.map(([id, title]) => skip(id, title, why))

/** The checks that need Fabric, for a profile that loaded. */
const fabricChecks = (loaded: LoadedProfile) =>
  Effect.gen(function*() {
    const progress = yield* Progress
    const results: Array<CheckResult> = []
    const sessions = new Map<string, Session>()

    const enabled = [...loaded.identities.values()].filter((i) => i.enabled).sort((a, b) => a.agentId.localeCompare(b.agentId))
    for (const identity of enabled) {
      const facts = yield* progress.step(`logging in agent ${identity.agentId}`, checkLogin(loaded, identity), { transient: true })
      results.push(facts.result)
      if (Option.isSome(facts.session)) sessions.set(identity.agentId, facts.session.value)
    }

    // One socket per (agent, guild): probed when some binding of it got that far, else skipped
    // with the first reason, so that every socket the plugin would open has a line.
    const sockets = new Map<string, { readonly agentId: string; readonly guildNodeId: string; readonly probe: Session | string }>()
    const socketFor = (binding: Binding, probe: Session | string) => {
      const key = `${binding.agentId}@${binding.guildNodeId}`
      const known = sockets.get(key)
      if (known === undefined || (typeof known.probe === "string" && typeof probe !== "string")) {
        sockets.set(key, { agentId: binding.agentId, guildNodeId: binding.guildNodeId, probe })
      }
    }
    for (const binding of loaded.bindings) {
      const session = sessions.get(binding.agentId)
      if (session === undefined) {
        const why = `agent ${binding.agentId} did not log in`
        results.push(
          ...skipAll([
            [`guild:${binding.name}`, `guild ${binding.guildNodeId} (binding ${binding.name})`],
            [`channel:${binding.name}`, `channel ${binding.channelId} (binding ${binding.name})`]
          ], why)
        )
        socketFor(binding, why)
        continue
      }
      const access = checkGuildAccess(binding, session)
      results.push(access)
      if (access.status !== "pass") {
        const why = `guild ${binding.guildNodeId} is not accessible`
        results.push(skip(`channel:${binding.name}`, `channel ${binding.channelId} (binding ${binding.name})`, why))
        socketFor(binding, why)
        continue
      }
      results.push(yield* progress.step(`checking channel ${binding.name}`, checkChannel(binding, session.user.id), { transient: true }))
      socketFor(binding, session)
    }

    for (const { agentId, guildNodeId, probe } of sockets.values()) {
      results.push(
        typeof probe === "string"
          ? skip(socketId(agentId, guildNodeId), socketTitle(agentId, guildNodeId), probe)
          : yield* progress.step(`socket.io handshake ${agentId}@${guildNodeId}`, checkSocket(agentId, guildNodeId, probe), { transient: true })
      )
    }
    return results
  }).pipe(Effect.provide(FabricApi.Default.pipe(
    Layer.provide(SessionsLive),
    Layer.provide(Layer.succeed(ActiveProfile, doctorProfile(loaded)))
  )))

/**
 * Who may wake each agent that has a binding (profile.md v1.1): information, it cannot fail.
 * The plugin decides with the same `effectiveWakePolicy`.
 */
const wakePolicies = (loaded: LoadedProfile): Array<CheckResult> =>
  [...new Set(loaded.bindings.map((b) => b.agentId))].sort().map((agentId) =>
    pass(`wake:${agentId}`, `wake policy of agent ${agentId}`, describeWakePolicy(effectiveWakePolicy(loaded.config, agentId)))
  )

/** Runs every check against the profile at `root` (absolute). Never fails: failures are lines. */
export const diagnose = Effect.fn("doctor.diagnose")(function*(root: string) {
  const profile = yield* Profile
  const results: Array<CheckResult> = []

  const rootCheck = yield* checkRoot(root)
  results.push(rootCheck)
  if (rootCheck.status === "pass") {
    results.push(yield* checkConfig(root))
    const identities = yield* checkIdentities(root)
    results.push(identities.result)
    results.push(...(yield* checkBindings(root, identities.agents)))
  }

  const profileTitle = "profile loads as the plugin loads it"
  if (results.some((r) => r.status === "fail")) {
    results.push(skip("profile", profileTitle, "the profile files above have problems"))
    results.push(skip("fabric", "Fabric checks (login, guilds, channels, sockets)", "the profile does not load yet"))
    return makeReport(root, results)
  }
  const loaded = yield* Effect.either(profile.load(root))
  if (loaded._tag === "Left") {
    const e = loaded.left
    results.push({
      id: "profile",
      title: profileTitle,
      status: "fail",
      detail: formatProfileError(e),
      fix: `edit ${join(root, e.file)}`
    })
    results.push(skip("fabric", "Fabric checks (login, guilds, channels, sockets)", "the profile does not load"))
    return makeReport(root, results)
  }
  results.push({
    id: "profile",
    title: profileTitle,
    status: "pass",
    detail: `${loaded.right.bindings.length} binding(s), ${[...loaded.right.identities.values()].filter((i) => i.enabled).length} enabled agent(s)`
  })
  results.push(...wakePolicies(loaded.right))
  results.push(...(yield* fabricChecks(loaded.right)))
  return makeReport(root, results)
})

const jsonOption = Options.boolean("json").pipe(Options.withDescription("print the report as JSON"))

/** Prints the report; fails with `DoctorFailed` when a check failed. */
export const doctor = Effect.fn("doctor")(function*(options: { readonly profile: Option.Option<string>; readonly json: boolean }) {
  const report: DoctorReport = yield* diagnose(yield* resolveProfileRoot(options.profile))
  yield* Console.log(options.json ? renderJson(report) : renderText(report))
  if (!report.ok) {
    return yield* new DoctorFailed({
      failed: report.failed,
      message: `${report.failed} check(s) failed; ${
        options.json ? `each check with "status": "fail" has a "fix"` : "each ✗ line above says what to do"
      }`
    })
  }
})

export const doctorCommand = Command.make("plexum-fabric-doctor", { profile: profileOption, json: jsonOption }, doctor).pipe(
  Command.withDescription("Checks a Plexum profile against Fabric: config, identities, bindings, logins, guilds, channels, sockets.")
)

export const cli = Command.run(doctorCommand, { name: "plexum-fabric-doctor", version: VERSION })

/** The command over `argv`, as its bin runs it: a failed check was explained by the report. */
export const doctorProgram = (argv: ReadonlyArray<string>) =>
  cli(argv).pipe(
    Effect.catchTag("DoctorFailed", (failed) => new CommandFailed({ message: failed.message })),
    Effect.provide(DoctorLive)
  )

/** What the doctor needs besides the platform (FileSystem, Path, Terminal, FabricTransport). */
export const DoctorLive = Layer.mergeAll(Profile.Default, CenterApi.Default, GuildSocket.Default, Progress.Default)
