/**
 * End-to-end harness: the BUILT plugin (dist/bin/plugin.js, built by `npm test` before vitest)
 * as a real subprocess over real stdio, plus a temporary Plexum profile. Every wait has a
 * timeout; nothing sleeps.
 */
import { Deferred, Duration, Effect, Option, Schedule, Stream, SubscriptionRef } from "effect"
import { spawn } from "node:child_process"
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const pluginBin = resolve(dirname(fileURLToPath(import.meta.url)), "../../dist/bin/plugin.js")

export interface ProfileSpec {
  readonly config?: Record<string, unknown>
  readonly agents?: Record<string, { readonly apiKey: string; readonly enabled?: boolean }>
  /** File name (without .json) → file content (an object, or raw text for malformed files). */
  readonly bindings?: Record<string, Record<string, unknown> | string>
}

/** A temporary profile directory, removed when the scope closes. */
export const makeProfile = (spec: ProfileSpec) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const root = await mkdtemp(join(tmpdir(), "plexum-profile-"))
      await writeProfile(root, spec)
      return root
    }),
    (root) => Effect.promise(() => rm(root, { recursive: true, force: true }))
  )

export const writeProfile = async (root: string, spec: ProfileSpec) => {
  if (spec.config) {
    await mkdir(join(root, "plugins/plexum-fabric-channel"), { recursive: true })
    await writeFile(join(root, "plugins/plexum-fabric-channel/config.json"), JSON.stringify(spec.config))
  }
  if (spec.agents) {
    const agents = Object.fromEntries(
      Object.entries(spec.agents).map(([id, a]) => [id, { fabric_api_key: a.apiKey, enabled: a.enabled ?? true }])
    )
    await writeFile(join(root, "fabric-identities.json"), JSON.stringify({ version: 1, agents }))
    await chmod(join(root, "fabric-identities.json"), 0o600)
  }
  await mkdir(join(root, "channels"), { recursive: true })
  for (const [name, content] of Object.entries(spec.bindings ?? {})) {
    await writeFile(join(root, "channels", `${name}.json`), typeof content === "string" ? content : JSON.stringify(content))
  }
}

export const binding = (agentId: string, guild: string, channel: string, extra: Record<string, unknown> = {}) => ({
  plugin: "plexum-fabric-channel",
  agent_id: agentId,
  fabric_guild_node_id: guild,
  fabric_channel_id: channel,
  ...extra
})

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export const initializeParams = {
  protocolVersion: "2025-11-25",
  capabilities: {},
  clientInfo: { name: "e2e", version: "1.0.0" }
}

/** Starts the plugin (with `args`, if any); it is killed (if still running) when the scope closes. */
export const startPlugin = (
  options: { readonly profileRoot: string; readonly env?: Record<string, string>; readonly args?: ReadonlyArray<string> }
) =>
  Effect.gen(function*() {
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, [pluginBin, ...(options.args ?? [])], {
          env: { PATH: process.env.PATH ?? "", PLEXUM_PROFILE_ROOT: options.profileRoot, ...options.env },
          stdio: ["pipe", "pipe", "pipe"]
        })
      ),
      (child) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
    )
    const messages = yield* SubscriptionRef.make<ReadonlyArray<any>>([])
    const exited = yield* Deferred.make<Exit>()
    let stdout = ""
    let stderr = ""
    let pending = ""
    child.stdout.setEncoding("utf8")
    child.stderr.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk
      pending += chunk
      const lines = pending.split("\n")
      pending = lines.pop()!
      const parsed = lines.filter((l) => l.length > 0).map((l) => {
        try {
          return JSON.parse(l)
        } catch {
          return { notJson: l }
        }
      })
      if (parsed.length > 0) Effect.runSync(SubscriptionRef.update(messages, (all) => [...all, ...parsed]))
    })
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk
    })
    child.on("exit", (code, signal) => Effect.runSync(Deferred.succeed(exited, { code, signal })))
    child.stdin.on("error", () => {}) // writing after the plugin exited is part of some tests

    let nextId = 1
    const send = (line: string) => Effect.sync(() => child.stdin.write(line + "\n"))
    const waitFor = (predicate: (message: any) => boolean, timeout: Duration.DurationInput = "15 seconds") =>
      messages.changes.pipe(
        Stream.map((all) => all.find(predicate)),
        Stream.filter((m) => m !== undefined),
        Stream.runHead,
        Effect.map(Option.getOrThrow),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new Error(`timed out waiting for a message from the plugin; stderr:\n${stderr.slice(-2000)}`)
        })
      )
    const waitForCount = (predicate: (message: any) => boolean, count: number, timeout: Duration.DurationInput = "20 seconds") =>
      messages.changes.pipe(
        Stream.map((all) => all.filter(predicate)),
        Stream.filter((found) => found.length >= count),
        Stream.runHead,
        Effect.map(Option.getOrThrow),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new Error(`timed out waiting for ${count} messages; stderr:\n${stderr.slice(-2000)}`)
        })
      )
    const request = (method: string, params?: unknown) =>
      Effect.suspend(() => {
        const id = nextId++
        return send(JSON.stringify({ jsonrpc: "2.0", id, method, params })).pipe(
          Effect.zipRight(waitFor((m) => m.id === id && ("result" in m || "error" in m)))
        )
      })
    return {
      pid: child.pid!,
      send,
      request,
      /** The result of a request that must succeed. */
      call: (method: string, params?: unknown) =>
        Effect.flatMap(request(method, params), (reply) =>
          "error" in reply ? Effect.dieMessage(`${method} failed: ${JSON.stringify(reply.error)}`) : Effect.succeed(reply.result)),
      notify: (method: string, params?: unknown) => send(JSON.stringify({ jsonrpc: "2.0", method, params })),
      waitFor,
      waitForCount,
      messages: SubscriptionRef.get(messages),
      inbound: Effect.map(SubscriptionRef.get(messages), (all) =>
        all.filter((m) => m.method === "notifications/plexum/channel/inbound").map((m) => m.params)),
      output: Effect.sync(() => ({ stdout, stderr })),
      closeStdin: Effect.sync(() => child.stdin.end()),
      /** The host stops reading: its end of the plugin's stdout is closed. */
      closeStdout: Effect.sync(() => child.stdout.destroy()),
      kill: (signal: NodeJS.Signals) => Effect.sync(() => child.kill(signal)),
      exited: (timeout: Duration.DurationInput = "5 seconds") =>
        Deferred.await(exited).pipe(
          Effect.timeoutFail({ duration: timeout, onTimeout: () => new Error(`the plugin did not exit within ${Duration.format(Duration.decode(timeout))}`) })
        )
    }
  })

export type PluginProcess = Effect.Effect.Success<ReturnType<typeof startPlugin>>

/**
 * Waits (within 15 s) until `count` socket sessions of the plugin are live: channel list loaded,
 * caught up. A node counts a socket as connected before its session is live.
 */
export const sessionsLive = (plugin: PluginProcess, count = 1) =>
  plugin.call("plexum/debug/fibers", { summary: true }).pipe(
    Effect.filterOrFail(
      (result) => (result.states.socket_session?.connected ?? 0) >= count,
      () => new Error(`fewer than ${count} live socket session(s) yet`)
    ),
    Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("15 seconds")))
  )
