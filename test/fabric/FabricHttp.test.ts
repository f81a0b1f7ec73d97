import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Metric, Redacted, Schema, TestClock } from "effect"
import { ChannelList, Paths, RouteTemplates } from "../../src/fabric/FabricContract.js"
import type { FabricError } from "../../src/fabric/FabricError.js"
import { FabricHttp, RequestPolicy, requestPolicy } from "../../src/fabric/FabricHttp.js"
import { restCalls } from "../../src/telemetry/Metrics.js"
import { inOrder, nextSleeps, recordingTracer, runToEnd, scriptedTransport, type Seen, type Step } from "./support.js"

const ENDPOINT = "http://guild.test"
const token = Redacted.make("secret-guild-token")

const listChannels = Effect.flatMap(FabricHttp, (http) =>
  http.request({
    route: "listChannels",
    base: ENDPOINT,
    path: Paths.channels,
    target: "guild g_1",
    token,
    response: ChannelList
  }))

const ok: Step = { status: 200, body: { channels: [{ id: "c_1", name: "general", x_type: "public", extra: true }] } }
const unavailable: Step = { status: 503, body: { error: { code: "down", message: "maintenance" } } }

/** Runs `listChannels` against the script, forked, so that the test can drive the clock. */
const withScript = <A, E>(
  respond: (seen: Seen, index: number) => Step,
  body: (script: Effect.Effect.Success<ReturnType<typeof scriptedTransport>>) => Effect.Effect<A, E, FabricHttp>,
  policy = requestPolicy({ request_timeout_seconds: 15, max_retries: 4 })
) =>
  Effect.gen(function*() {
    const script = yield* scriptedTransport(respond)
    return yield* body(script).pipe(
      Effect.provide(FabricHttp.Default),
      Effect.provide(script.layer),
      Effect.provideService(RequestPolicy, policy)
    )
  })

/** Long enough that an attempt's timeout never hides a backoff among the clock's sleeps. */
const patient = requestPolicy({ request_timeout_seconds: 1_000, max_retries: 4 })
const backoff = nextSleeps(100_000)

const failure = <A>(exit: Exit.Exit<A, FabricError>): FabricError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (error === undefined) throw new Error(`expected a typed failure, got ${exit.cause._tag}`)
  return error
}

describe("FabricHttp retries", () => {
  it.effect("retries a 5xx on an exponential, jittered backoff, then succeeds", () =>
    withScript(inOrder(unavailable, unavailable, ok), (script) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(listChannels)
        const [first] = yield* backoff
        expect(yield* script.count).toBe(1)
        // 250 ms ± 20 %
        expect(first).toBeGreaterThanOrEqual(200)
        expect(first).toBeLessThanOrEqual(300)
        yield* TestClock.adjust(Duration.millis(first! - 1))
        expect(yield* script.count).toBe(1)
        yield* TestClock.setTime(first!)
        const [second] = yield* backoff
        expect(yield* script.count).toBe(2)
        // 500 ms ± 20 %, counted from the second failure
        expect(second! - first!).toBeGreaterThanOrEqual(400)
        expect(second! - first!).toBeLessThanOrEqual(600)
        yield* TestClock.setTime(second!)
        const channels = yield* fiber
        expect(channels.channels.map((c) => c.id)).toEqual(["c_1"])
        expect(yield* script.count).toBe(3)
      }), patient))

  it.effect("gives up after max_retries and reports `unavailable` naming the route and what to do", () =>
    withScript(inOrder(unavailable), (script) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(listChannels)
        const error = failure(yield* runToEnd(fiber))
        expect(yield* script.count).toBe(3)
        expect(error.reason).toBe("unavailable")
        expect(error.route).toBe(RouteTemplates.listChannels)
        expect(error.status).toBe(503)
        expect(error.message).toContain("GET /api/channels")
        expect(error.message).toContain("3 attempt(s)")
        expect(error.message).toContain("check that Fabric is running")
      }), requestPolicy({ request_timeout_seconds: 15, max_retries: 2 })))

  it.effect("waits what Retry-After says on a 429, then retries", () =>
    withScript(inOrder({ status: 429, headers: { "retry-after": "7" } }, ok), (script) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(listChannels)
        expect(yield* backoff).toEqual([7_000])
        yield* TestClock.adjust("6999 millis")
        expect(yield* script.count).toBe(1)
        yield* TestClock.adjust("1 millis")
        yield* fiber
        expect(yield* script.count).toBe(2)
      }), patient))

  it.effect("bounds a long Retry-After to 60 s, and reports `rate_limited` when it persists", () =>
    withScript(inOrder({ status: 429, headers: { "retry-after": "3600" } }), (script) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(listChannels)
        expect(yield* backoff).toEqual([60_000])
        const error = failure(yield* runToEnd(fiber))
        expect(yield* script.count).toBe(2)
        expect(error.reason).toBe("rate_limited")
        expect(error.message).toContain("rate-limiting GET /api/channels")
      }), requestPolicy({ request_timeout_seconds: 1_000, max_retries: 1 })))

  it.effect("times an attempt out after request_timeout_seconds and retries it", () =>
    withScript(inOrder("hang", ok), (script) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(listChannels)
        expect(yield* nextSleeps()).toEqual([5_000])
        yield* TestClock.adjust("5 seconds")
        const exit = yield* runToEnd(fiber)
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(yield* script.count).toBe(2)
      }), requestPolicy({ request_timeout_seconds: 5, max_retries: 4 })))

  it.effect("reports a timeout that persists as `unavailable`, saying it got no answer", () =>
    withScript(inOrder("hang"), () =>
      Effect.gen(function*() {
        const error = failure(yield* runToEnd(yield* Effect.fork(listChannels)))
        expect(error.reason).toBe("unavailable")
        expect(error.message).toContain("no answer within 5s")
      }), requestPolicy({ request_timeout_seconds: 5, max_retries: 1 })))
})

describe("FabricHttp statuses", () => {
  const cases = [
    [400, "bad_request", "content_too_long"],
    [401, "unauthorized", "token_expired"],
    [403, "forbidden", "not_member"],
    [404, "not_found", "unknown_channel"],
    [413, "too_large", "payload_too_large"]
  ] as const
  for (const [status, reason, code] of cases) {
    it.effect(`reports ${status} as \`${reason}\` with Fabric's code and message, without a retry`, () =>
      withScript(inOrder({ status, body: { error: { code, message: `fabric says ${code}` } } }), (script) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(listChannels)
          expect(error).toMatchObject({ _tag: "FabricError", reason, status, code, route: "GET /api/channels" })
          expect(error.message).toContain(`fabric says ${code}`)
          expect(error.message).toContain("guild g_1")
          expect(yield* script.count).toBe(1)
        })))
  }

  it.effect("carries `current` of a 409", () =>
    withScript(
      inOrder({ status: 409, body: { error: { code: "version_conflict", message: "stale", current: { version: 3 } } } }),
      () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(listChannels)
          expect(error).toMatchObject({ reason: "conflict", code: "version_conflict", current: { version: 3 } })
        })
    ))

  it.effect("reports an error body that is not Fabric's with the status alone", () =>
    withScript(inOrder({ status: 404, body: "<html>not here</html>" }), () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(listChannels)
        expect(error).toMatchObject({ reason: "not_found", status: 404, code: undefined })
        expect(error.message).not.toContain("html")
      })))

  it.effect("reports a 2xx body that does not match the contract as `invalid_response`, naming the field, not its value", () =>
    withScript(inOrder({ status: 200, body: { channels: [{ id: "c_1", name: "secret-value", x_type: "weird" }] } }), () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(listChannels)
        expect(error.reason).toBe("invalid_response")
        expect(error.message).toContain("channels.0.x_type")
        expect(error.message).not.toContain("weird")
        expect(error.message).toContain("Fabric v1 endpoint")
      })))

  it.effect("reports a 2xx body that is not JSON as `invalid_response`", () =>
    withScript(inOrder({ status: 200, body: "{not json" }), () =>
      Effect.gen(function*() {
        expect((yield* Effect.flip(listChannels)).message).toContain("not JSON")
      })))

  it.effect("sends the bearer token and counts each exchange by route template and status", () =>
    withScript(inOrder(unavailable, ok), (script) =>
      Effect.gen(function*() {
        const counter = (status: string) =>
          Metric.value(Metric.tagged(Metric.tagged(restCalls, "route", RouteTemplates.listChannels), "status", status))
        const before = [(yield* counter("503")).count, (yield* counter("200")).count]
        yield* runToEnd(yield* Effect.fork(listChannels))
        expect([(yield* counter("503")).count - before[0]!, (yield* counter("200")).count - before[1]!]).toEqual([1, 1])
        const [first] = yield* script.seen
        expect(first!.authorization).toBe("Bearer secret-guild-token")
        expect(first!.url.toString()).toBe(`${ENDPOINT}/api/channels`)
      })))

  it.effect("each call is a span `fabric.rest <route>` with method, route and status, and no token or body", () =>
    withScript(inOrder(ok), () =>
      Effect.gen(function*() {
        const recorder = recordingTracer()
        yield* listChannels.pipe(Effect.provide(recorder.layer))
        const span = recorder.spans.find((s) => s.name === "fabric.rest GET /api/channels")
        expect(span).toBeDefined()
        expect(Object.fromEntries(span!.attributes)).toMatchObject({
          "http.request.method": "GET",
          "http.route": "GET /api/channels",
          "http.response.status_code": 200,
          "fabric.attempts": 1
        })
        const everything = JSON.stringify(recorder.spans.map((s) => [s.name, [...s.attributes]]))
        expect(everything).not.toContain("secret-guild-token")
        expect(everything).not.toContain("general")
      })))

  it.effect("decodes a 204 as void", () =>
    withScript(inOrder({ status: 204 }), () =>
      Effect.gen(function*() {
        const http = yield* FabricHttp
        const result = yield* http.request({
          route: "putPresence",
          base: ENDPOINT,
          path: Paths.presence,
          target: "guild g_1",
          json: { status: "online" },
          response: Schema.Void
        })
        expect(result).toBeUndefined()
      })))
})
