/**
 * The bounds of a Fabric request: a `Retry-After` past the call's deadline is not waited for, and
 * a body over `max_response_mib` is refused. The tool call's overall deadline is in
 * test/tools/deadline.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Redacted } from "effect"
import { ChannelList, Paths } from "../../src/fabric/FabricContract.js"
import type { FabricError } from "../../src/fabric/FabricError.js"
import { CallDeadline, FabricHttp, RequestPolicy, requestPolicy } from "../../src/fabric/FabricHttp.js"
import { inOrder, scriptedTransport, type Step } from "./support.js"

const listChannels = Effect.flatMap(FabricHttp, (http) =>
  http.request({
    route: "listChannels",
    base: "http://guild.test",
    path: Paths.channels,
    target: "guild g_1",
    token: Redacted.make("secret-guild-token"),
    response: ChannelList
  }))

const run = (steps: ReadonlyArray<Step>, policy = requestPolicy({ request_timeout_seconds: 15, max_retries: 4 })) =>
  Effect.gen(function*() {
    const script = yield* scriptedTransport(inOrder(...steps))
    const exit = yield* Effect.exit(listChannels).pipe(
      Effect.provide(FabricHttp.Default),
      Effect.provide(script.layer),
      Effect.provideService(RequestPolicy, policy)
    )
    return { exit, count: yield* script.count }
  })

const failure = <A>(exit: Exit.Exit<A, FabricError>): FabricError => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a typed failure, got ${Exit.isSuccess(exit) ? "success" : exit.cause._tag}`)
  return exit.cause.error
}

describe("FabricHttp limits", () => {
  it.effect("a Retry-After that ends past the call's deadline fails at once, without waiting", () =>
    Effect.gen(function*() {
      // The throttling node of issue 15: `Retry-After: 100000` (bounded to 60 s) on every call.
      const { count, exit } = yield* run([{ status: 429, headers: { "retry-after": "100000" } }]).pipe(
        Effect.provideService(CallDeadline, Option.some(30_000))
      )
      const error = failure(exit)
      expect(count).toBe(1)
      expect(error.reason).toBe("rate_limited")
      expect(error.message).toBe(
        "guild g_1 is rate-limiting GET /api/channels and asks to wait 1m, past this call's deadline " +
          "(tool_call_timeout_seconds); try again after that wait"
      )
    }))

  it.effect("a JSON body over max_response_mib is refused, declared or not", () =>
    Effect.gen(function*() {
      const policy = requestPolicy({ request_timeout_seconds: 15, max_retries: 0, max_response_mib: 1 })
      const big = { channels: [{ id: "c_1", name: "x".repeat(1024 * 1024), x_type: "public" }] }
      const error = failure((yield* run([{ status: 200, body: big }], policy)).exit)
      expect(error.reason).toBe("too_large")
      expect(error.message).toBe(
        "guild g_1 answered GET /api/channels with a body over 1 MiB, which the plugin does not read; ask for less " +
          "(a smaller limit or page), or raise max_response_mib in the plugin config"
      )
      const declared = failure((yield* run([{ status: 200, body: "{}", headers: { "content-length": String(2 * 1024 * 1024) } }], policy)).exit)
      expect(declared.reason).toBe("too_large")
      const small = (yield* run([{ status: 200, body: { channels: [] } }], policy)).exit
      expect(Exit.isSuccess(small)).toBe(true)
    }))
})
