/**
 * The host protocol server (host-protocol.md): reads JSON-RPC lines from the host, answers each
 * request on its own fiber (so responses to concurrent requests come by id, in any order), and
 * runs the lifecycle — `initialize` loads the profile and activates the plugin; `shutdown`,
 * end of input, a signal or a lost stdout all lead to the same graceful stop.
 */
import { FileSystem, Path } from "@effect/platform"
import { Cause, Deferred, Effect, ExecutionStrategy, Exit, Fiber, FiberMap, Option, ParseResult, Redacted, Schema, Scope, Stream } from "effect"
import { formatProfileError, type ProfileError } from "../profile/Profile.js"
import type { LoadedProfile } from "../profile/ProfileSchema.js"
import { Activation, type ActivePlugin } from "./Activation.js"
import { HostApi, HostTransport } from "./HostApi.js"
import { ErrorCodes, LogLevel, Methods, SERVER_NAME, SUPPORTED_PROTOCOL_VERSIONS } from "./HostProtocol.js"
import { parseLine, requestIdKey, RpcError, type Notification, type Request } from "./JsonRpc.js"
import { manifest } from "./Manifest.js"
import { profileChanges } from "./ProfileWatch.js"
import { FiberRegistry } from "../telemetry/FiberRegistry.js"
import { detached, jsonRpcSpan } from "../telemetry/Spans.js"
import { VERSION } from "../version.js"

/** How long a graceful stop waits for requests under way before it closes everything. */
const INFLIGHT_BUDGET = "1 second"

const InitializeParams = Schema.Struct({
  protocolVersion: Schema.String,
  capabilities: Schema.optional(Schema.Unknown),
  clientInfo: Schema.optional(Schema.Unknown)
})
const ToolCallParams = Schema.Struct({
  name: Schema.String,
  arguments: Schema.optional(Schema.Unknown)
})
/** `summary: true` asks for the counts only (docs/observability.md, Fiber inspection). */
const DebugFibersParams = Schema.Struct({ summary: Schema.optional(Schema.Boolean) })
/** MCP's syslog levels; the ones above `error` are treated as `error`. */
const SetLevelParams = Schema.Struct({
  level: Schema.Union(LogLevel, Schema.Literal("critical", "alert", "emergency"))
})
const CancelledParams = Schema.Struct({ requestId: Schema.Union(Schema.String, Schema.Number) })

/** `"name" is missing`, `"level" must be …`: the field first, never the whole tree. */
const describeParams = (error: ParseResult.ParseError) => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined || issue.path.length === 0) return "params must be a JSON object"
  const field = `"${issue.path.join(".")}"`
  if (issue._tag === "Missing") return `${field} is missing`
  const expected = /^Expected (.*?), actual /s.exec(issue.message)?.[1]
  return expected === undefined ? `${field} is invalid` : `${field} must be ${expected}`
}

const decodeParams = <A, I>(schema: Schema.Schema<A, I>, method: string) => (params: unknown) =>
  Schema.decodeUnknown(schema)(params ?? {}).pipe(
    Effect.mapError((error) =>
      new RpcError({
        code: ErrorCodes.invalidParams,
        message: `invalid params for ${method}: ${describeParams(error)}${
          method === Methods.toolsCall ? "; send {\"name\": <a tool from tools/list>, \"arguments\": {…}}" : ""
        }`
      })
    )
  )

const profileRpcError = (error: ProfileError) =>
  new RpcError({ code: ErrorCodes.internalError, message: `cannot load the profile: ${formatProfileError(error)}` })

/** Same bindings and identities: nothing an operator changed concerns the running plugin. */
const sameChannels = (a: LoadedProfile, b: LoadedProfile) => {
  const identities = (p: LoadedProfile) =>
    [...p.identities.values()].map((i) => [i.agentId, i.enabled, Redacted.value(i.apiKey)].join("\u0000")).sort().join("\n")
  return JSON.stringify(a.bindings) === JSON.stringify(b.bindings) && identities(a) === identities(b)
}

const negotiate = (requested: string) =>
  (SUPPORTED_PROTOCOL_VERSIONS as ReadonlyArray<string>).includes(requested) ? requested : SUPPORTED_PROTOCOL_VERSIONS[0]

export class HostServer extends Effect.Service<HostServer>()("plexum-fabric/HostServer", {
  effect: Effect.gen(function*() {
    const host = yield* HostApi
    const transport = yield* HostTransport
    const activation = yield* Activation
    const registry = yield* FiberRegistry
    const platform = yield* Effect.context<FileSystem.FileSystem | Path.Path>()

    /**
     * Serves until the host asks to stop (or goes away), then returns; the caller's scope
     * closing is the rest of the graceful stop.
     */
    const serve = Effect.gen(function*() {
      const scope = yield* Effect.scope
      const stop = yield* Deferred.make<void>()
      const inflight = yield* FiberMap.make<string>()
      /** The activated plugin and the scope it lives in; replaced when the bindings change. */
      let active: { readonly plugin: ActivePlugin; readonly scope: Scope.CloseableScope } | undefined
      let activating = false
      /** Background work started: once, after the first successful `initialize` answer. */
      let started = false

      const activate = (profile: LoadedProfile) =>
        Effect.gen(function*() {
          const child = yield* Scope.fork(scope, ExecutionStrategy.sequential)
          const plugin = yield* activation.activate(profile).pipe(Scope.extend(child))
          return { plugin, scope: child }
        })

      /** Background work is not part of the trace of the request that started it. */
      const runInBackground = (current: NonNullable<typeof active>) =>
        Effect.forkIn(detached(current.plugin.run), current.scope)

      const initialize = Effect.fn("HostServer.initialize")(function*(params: unknown) {
        const { protocolVersion } = yield* decodeParams(InitializeParams, Methods.initialize)(params)
        if (active !== undefined || activating) {
          return yield* new RpcError({ code: ErrorCodes.invalidRequest, message: "already initialized: send initialize once per process" })
        }
        activating = true
        const profile = yield* activation.loadProfile.pipe(
          Effect.tapError(() => Effect.sync(() => (activating = false))),
          Effect.mapError(profileRpcError)
        )
        active = yield* activate(profile)
        return {
          protocolVersion: negotiate(protocolVersion),
          capabilities: { tools: { listChanged: true }, logging: {} },
          serverInfo: { name: SERVER_NAME, version: VERSION }
        }
      })

      /**
       * The bindings or identities changed on disk: the old plugin stops (its sockets close),
       * a new one starts from the new profile and catches up from the watermarks, and the host
       * is told the channel set changed. A profile that no longer loads changes nothing.
       */
      const reload = Effect.gen(function*() {
        const current = active!
        const profile = yield* activation.loadProfile
        if (sameChannels(profile, current.plugin.profile)) return
        // Traced only when something changed: a look that finds nothing new is not an event.
        yield* Effect.gen(function*() {
          yield* Scope.close(current.scope, Exit.void)
          active = yield* activate(profile)
          yield* runInBackground(active)
          yield* host.notify(Methods.toolsListChanged)
          yield* Effect.logInfo(`profile changed: now ${profile.bindings.length} channel binding(s)`)
        }).pipe(Effect.withSpan("HostServer.reload"))
      }).pipe(
        Effect.catchTag("ProfileError", (error) =>
          Effect.logWarning(`profile change ignored, the running configuration stays: ${formatProfileError(error)}`))
      )

      /** After `initialize` is answered: logs may go to the host, and background work starts. */
      const afterInitialize = (current: NonNullable<typeof active>) =>
        host.openLogging.pipe(
          Effect.zipRight(Effect.logInfo(`initialized with ${current.plugin.profile.bindings.length} channel binding(s)`)),
          Effect.zipRight(runInBackground(current)),
          Effect.zipRight(
            Effect.forkIn(
              Stream.runForEach(profileChanges(current.plugin.profile.root), () => reload).pipe(Effect.provide(platform)),
              scope
            )
          ),
          Effect.asVoid
        )

      const callTool = Effect.fn("HostServer.callTool")(function*(params: unknown) {
        if (active === undefined) {
          return yield* new RpcError({ code: ErrorCodes.notInitialized, message: "not initialized: send initialize before tools/call" })
        }
        const call = yield* decodeParams(ToolCallParams, Methods.toolsCall)(params)
        return yield* active.plugin.callTool(call.name, call.arguments ?? {}).pipe(
          Effect.catchTag("UnknownTool", (error) =>
            new RpcError({ code: ErrorCodes.invalidParams, message: `unknown tool: ${error.name}` }))
        )
      })

      const pluginManifest = Effect.gen(function*() {
        const profile = active?.plugin.profile ?? (yield* Effect.mapError(activation.loadProfile, profileRpcError))
        return manifest(profile.bindings, activation.catalog)
      })

      const dispatch = (request: Request): Effect.Effect<unknown, RpcError> => {
        switch (request.method) {
          case Methods.initialize:
            return initialize(request.params)
          case Methods.manifest:
            return pluginManifest
          case Methods.toolsList:
            return Effect.succeed({ tools: activation.catalog })
          case Methods.toolsCall:
            return callTool(request.params)
          case Methods.ping:
            return Effect.succeed({})
          case Methods.setLevel:
            return decodeParams(SetLevelParams, Methods.setLevel)(request.params).pipe(
              Effect.flatMap(({ level }) =>
                host.setLevel(level === "critical" || level === "alert" || level === "emergency" ? "error" : level)
              ),
              Effect.as({})
            )
          case Methods.shutdown:
            return Effect.succeed({})
          case Methods.debugFibers:
            return decodeParams(DebugFibersParams, Methods.debugFibers)(request.params).pipe(
              Effect.flatMap(({ summary }) => registry.debugFibers(summary ?? false))
            )
          default:
            return Effect.fail(new RpcError({ code: ErrorCodes.methodNotFound, message: `unknown method: ${request.method}` }))
        }
      }

      const answer = (request: Request) =>
        dispatch(request).pipe(
          Effect.matchCauseEffect({
            onSuccess: (result) => host.respond(request.id, result),
            onFailure: (cause) =>
              Option.match(Cause.failureOption(cause), {
                onSome: (error) => host.respondError(request.id, error.code, error.message),
                onNone: () =>
                  Cause.isInterruptedOnly(cause)
                    ? Effect.void // cancelled by the host: MCP says no reply
                    : Effect.logError(`internal error in ${request.method}`, cause).pipe(
                      Effect.zipRight(host.respondError(
                        request.id,
                        ErrorCodes.internalError,
                        `internal error in ${request.method}; the plugin's stderr has the details`
                      ))
                    )
              })
          }),
          Effect.tap(() => {
            if (request.method === Methods.initialize && active !== undefined && !started) {
              started = true
              return afterInitialize(active)
            }
            if (request.method === Methods.shutdown) return Deferred.succeed(stop, void 0)
            return Effect.void
          }),
          Effect.withSpan(jsonRpcSpan(request.method), {
            kind: "server",
            attributes: { "rpc.system": "jsonrpc", "rpc.method": request.method, "rpc.jsonrpc.request_id": String(request.id) }
          })
        )

      const onRequest = (request: Request) =>
        Effect.gen(function*() {
          const key = requestIdKey(request.id)
          if (yield* FiberMap.has(inflight, key)) {
            return yield* host.respondError(request.id, ErrorCodes.invalidRequest, `request id ${key} is already in use by a request under way`)
          }
          yield* FiberMap.run(inflight, key, answer(request))
        })

      const onNotification = (notification: Notification) => {
        if (notification.method !== Methods.cancelled) return Effect.void
        return Schema.decodeUnknown(CancelledParams)(notification.params).pipe(
          Effect.flatMap(({ requestId }) => FiberMap.remove(inflight, requestIdKey(requestId))),
          Effect.ignore
        )
      }

      const onLine = (line: string) => {
        const incoming = parseLine(line)
        switch (incoming._tag) {
          case "Request":
            return onRequest(incoming)
          case "Notification":
            return onNotification(incoming)
          case "Invalid":
            return Effect.logWarning(`rejected a line from the host: ${incoming.message}`).pipe(
              Effect.zipRight(host.respondError(incoming.id, incoming.code, incoming.message))
            )
          case "Reply":
            return Effect.void
        }
      }

      const reader = yield* transport.input.pipe(
        Stream.decodeText(),
        Stream.splitLines,
        Stream.filter((line) => line.trim().length > 0),
        Stream.runForEach(onLine),
        Effect.zipRight(Deferred.succeed(stop, void 0)),
        Effect.forkScoped
      )

      yield* Effect.raceFirst(Deferred.await(stop), host.gone)
      yield* Effect.logInfo("stopping: closing sockets and flushing")
      yield* Fiber.interrupt(reader)
      // Let requests under way finish (a tool call posting a message), within the budget.
      yield* FiberMap.awaitEmpty(inflight).pipe(Effect.timeout(INFLIGHT_BUDGET), Effect.ignore)
    })

    return { serve } as const
  })
}) {}
