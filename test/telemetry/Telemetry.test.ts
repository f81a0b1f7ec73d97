import { describe, expect, it } from "@effect/vitest"
import { Clock, ConfigProvider, Effect, Either, FiberRef, type Layer, Logger, Metric } from "effect"
import { messagesDelivered } from "../../src/telemetry/Metrics.js"
import { currentSpanLink, inboundRootOptions, SpanNames } from "../../src/telemetry/Spans.js"
import * as Telemetry from "../../src/telemetry/Telemetry.js"
import { makeOtlpReceiver } from "./OtlpReceiver.js"

const configFor = (env: Record<string, string>) => Either.getOrThrow(Telemetry.telemetryConfigFrom(env))

/** A socket session handing on one batch: the inbound trace design, end to end. */
const sessionWithOneMessage = Effect.gen(function*() {
  const link = yield* currentSpanLink
  yield* Effect.gen(function*() {
    yield* Effect.void.pipe(Effect.withSpan("inbound.write"))
    yield* Effect.logInfo("delivered to the host")
    yield* Metric.increment(messagesDelivered)
  }).pipe(Effect.withSpan(SpanNames.inboundBatch, inboundRootOptions(link, { agent: "a1", message_ids: ["m_1"], outcomes: ["delivered"] })))
}).pipe(Effect.withSpan(SpanNames.socketSession, { attributes: { agent: "a1", guild: "g_1" } }))

/** Runs the session with `layer`, keeping the test's stdout free of the default logger. */
const runWith = (layer: Layer.Layer<never>) =>
  sessionWithOneMessage.pipe(Effect.provide(layer), Effect.provide(Logger.remove(Logger.defaultLogger)))

const elapsedMillis = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    yield* effect
    return (yield* Clock.currentTimeMillis) - start
  })

describe("Telemetry", () => {
  it.scopedLive("exports spans, metrics and logs as JSON and flushes them when its scope closes, within 2 s", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver()
      const layer = Telemetry.layerFrom(configFor({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_SERVICE_NAME: "telemetry-test",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test",
        OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=k%2F1"
      }))

      // Every export interval is longer than this program: only the shutdown flush can deliver.
      const closing = yield* elapsedMillis(runWith(layer))
      expect(closing).toBeLessThan(2000)

      const got = yield* receiver.waitFor(
        (r) => r.spans.length >= 3 && r.metrics.length > 0 && r.logs.length > 0,
        "1 second"
      )
      const span = (name: string) => got.spans.find((s) => s.name === name)!
      const session = span(SpanNames.socketSession)
      const message = span(SpanNames.inboundBatch)
      const gate = span("inbound.write")

      expect(session.attributes).toMatchObject({ agent: "a1", guild: "g_1" })
      expect(session.resource).toMatchObject({
        "service.name": "telemetry-test",
        "deployment.environment": "test"
      })
      // Each message is its own trace, linked to the session that received it.
      expect(message.traceId).not.toBe(session.traceId)
      expect(message.parentSpanId).toBeUndefined()
      expect(message.links).toEqual([{ traceId: session.traceId, spanId: session.spanId, attributes: {} }])
      expect(message.attributes).toMatchObject({ agent: "a1", message_ids: ["m_1"], outcomes: ["delivered"] })
      expect(gate.parentSpanId).toBe(message.spanId)
      expect(gate.traceId).toBe(message.traceId)

      expect(got.metrics.map((m) => m.name)).toContain("plexum_fabric.inbound.delivered")
      // The log record carries the ids of the span it was written in.
      const log = got.logs.find((l) => l.body === "delivered to the host")!
      expect(log.traceId).toBe(message.traceId)
      expect(log.spanId).toBe(message.spanId)

      for (const request of got.requests) {
        expect(request.contentType).toContain("application/json")
        expect(request.headers["x-api-key"]).toBe("k/1")
      }
    }))

  it.scopedLive("exports only the signals that are configured", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver()
      const layer = Telemetry.layerFrom(configFor({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces`
      }))
      yield* runWith(layer)
      const got = yield* receiver.waitFor((r) => r.spans.length >= 3, "1 second")
      expect(new Set(got.requests.map((r) => r.path))).toEqual(new Set(["/v1/traces"]))
    }))

  it.scopedLive("bounds the shutdown flush when the collector hangs", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver({ respond: false })
      const layer = Telemetry.layerFrom(configFor({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }))
      const closing = yield* elapsedMillis(runWith(layer))
      // The three exporters flush in parallel, each bounded by the one shutdown timeout.
      expect(closing).toBeLessThan(2000)
      const got = yield* receiver.waitFor((r) => r.requests.length === 3, "1 second")
      expect(new Set(got.requests.map((r) => r.path))).toEqual(new Set(["/v1/traces", "/v1/metrics", "/v1/logs"]))
    }))

  it.effect("costs nothing without configuration: no exporter, and tracing off (no span objects)", () =>
    Effect.gen(function*() {
      const envs: ReadonlyArray<Record<string, string>> = [{}, { OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }]
      for (const env of envs) {
        const enabled = yield* FiberRef.get(FiberRef.currentTracerEnabled).pipe(Effect.provide(Telemetry.layerFrom(configFor(env))))
        expect(enabled).toBe(false)
      }
    }))

  it.effect("turns export off with one warning naming the variable when the environment is malformed", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.make(({ message }) => {
        lines.push(String(message))
      })
      yield* Effect.void.pipe(
        Effect.provide(Telemetry.layer),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"]]))),
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/OpenTelemetry export is off: OTEL_EXPORTER_OTLP_PROTOCOL "grpc" is not supported/)
    }))
})
