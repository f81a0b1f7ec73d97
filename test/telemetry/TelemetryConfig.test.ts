import { describe, expect, it } from "@effect/vitest"
import { Either, Option, Redacted } from "effect"
import {
  defaultServiceName,
  formatConfigError,
  isExporting,
  type SignalExport,
  type TelemetryConfig,
  telemetryConfigFrom
} from "../../src/telemetry/Telemetry.js"
import { VERSION } from "../../src/version.js"

const config = (env: Record<string, string | undefined>): TelemetryConfig => {
  const result = telemetryConfigFrom(env)
  if (Either.isLeft(result)) throw new Error(`expected a config, got: ${formatConfigError(result.left)}`)
  return result.right
}

const failure = (env: Record<string, string>): string => {
  const result = telemetryConfigFrom(env)
  if (Either.isRight(result)) throw new Error("expected the config to be rejected")
  return formatConfigError(result.left)
}

const url = (signal: Option.Option<SignalExport>) => Option.map(signal, (s) => s.url)

const plainHeaders = (signal: Option.Option<SignalExport>) =>
  Option.map(signal, (s) => Object.fromEntries(Object.entries(s.headers).map(([k, v]) => [k, Redacted.value(v)])))

describe("telemetryConfigFrom", () => {
  it("exports nothing without an endpoint", () => {
    const c = config({})
    expect(isExporting(c)).toBe(false)
    expect(c.serviceName).toBe(defaultServiceName)
    expect(c.serviceVersion).toBe(VERSION)
  })

  it("derives every signal's URL from the base endpoint, with or without a trailing slash", () => {
    for (const base of ["http://collector:4318", "http://collector:4318/"]) {
      const c = config({ OTEL_EXPORTER_OTLP_ENDPOINT: base })
      expect(url(c.traces)).toEqual(Option.some("http://collector:4318/v1/traces"))
      expect(url(c.metrics)).toEqual(Option.some("http://collector:4318/v1/metrics"))
      expect(url(c.logs)).toEqual(Option.some("http://collector:4318/v1/logs"))
    }
  })

  it("uses a per-signal endpoint as is, and exports only the signals that have one", () => {
    const c = config({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example/ingest" })
    expect(url(c.traces)).toEqual(Option.some("https://traces.example/ingest"))
    expect(c.metrics).toEqual(Option.none())
    expect(c.logs).toEqual(Option.none())
  })

  it("lets a per-signal endpoint override the base one", () => {
    const c = config({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://logs:9000/otlp/logs"
    })
    expect(url(c.logs)).toEqual(Option.some("http://logs:9000/otlp/logs"))
    expect(url(c.traces)).toEqual(Option.some("http://collector:4318/v1/traces"))
  })

  it("turns one signal off with OTEL_<SIGNAL>_EXPORTER=none", () => {
    const c = config({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_TRACES_EXPORTER: "none",
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_LOGS_EXPORTER: "none"
    })
    expect(c.traces).toEqual(Option.none())
    expect(Option.isSome(c.metrics)).toBe(true)
    expect(c.logs).toEqual(Option.none())
  })

  it("turns everything off with OTEL_SDK_DISABLED=true, whatever else is set", () => {
    const c = config({
      OTEL_SDK_DISABLED: "TRUE",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces"
    })
    expect(isExporting(c)).toBe(false)
    expect(isExporting(config({ OTEL_SDK_DISABLED: "false", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }))).toBe(true)
  })

  it("treats empty variables as unset", () => {
    const c = config({ OTEL_EXPORTER_OTLP_ENDPOINT: "", OTEL_SERVICE_NAME: " ", OTEL_TRACES_EXPORTER: "" })
    expect(isExporting(c)).toBe(false)
    expect(c.serviceName).toBe(defaultServiceName)
  })

  it("parses headers as percent-encoded k=v pairs, per-signal headers winning, values redacted", () => {
    const c = config({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20abc%3D%3D, x-team = obs ,,",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-team=traces"
    })
    expect(plainHeaders(c.metrics)).toEqual(Option.some({ authorization: "Bearer abc==", "x-team": "obs" }))
    expect(plainHeaders(c.traces)).toEqual(Option.some({ authorization: "Bearer abc==", "x-team": "traces" }))
    const headers = Option.getOrThrow(c.metrics).headers
    expect(String(headers.authorization)).not.toContain("abc")
    expect(JSON.stringify(headers)).not.toContain("abc")
  })

  it("rejects a malformed header entry by position, never echoing its value", () => {
    const message = failure({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_HEADERS: "x-team=obs,secret-token-without-key"
    })
    expect(message).toContain("OTEL_EXPORTER_OTLP_HEADERS")
    expect(message).toContain("entry 2")
    expect(message).not.toContain("secret-token")
    expect(failure({ OTEL_EXPORTER_OTLP_HEADERS: "a=%E0%A4%A" })).toContain("entry 1")
  })

  it("takes the service name from OTEL_SERVICE_NAME, then service.name in the resource attributes", () => {
    expect(config({ OTEL_SERVICE_NAME: "fabric-a" }).serviceName).toBe("fabric-a")
    expect(config({ OTEL_RESOURCE_ATTRIBUTES: "service.name=from-attrs" }).serviceName).toBe("from-attrs")
    expect(
      config({ OTEL_SERVICE_NAME: "wins", OTEL_RESOURCE_ATTRIBUTES: "service.name=loses" }).serviceName
    ).toBe("wins")
  })

  it("decodes resource attributes and keeps service.name/version out of the attribute map", () => {
    const c = config({
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=staging,team=a%2Cb,service.version=9.9.9,service.name=x"
    })
    expect(c.resourceAttributes).toEqual({ "deployment.environment": "staging", team: "a,b" })
    expect(c.serviceVersion).toBe("9.9.9")
  })

  it("sends JSON unless told otherwise, and accepts protobuf per signal", () => {
    const c = config({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "http/protobuf"
    })
    expect(Option.map(c.traces, (s) => s.protocol)).toEqual(Option.some("http/json"))
    expect(Option.map(c.metrics, (s) => s.protocol)).toEqual(Option.some("http/protobuf"))
    const all = config({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" })
    expect(Option.map(all.logs, (s) => s.protocol)).toEqual(Option.some("http/protobuf"))
  })

  it("names the variable and the fix for values it cannot honour", () => {
    expect(failure({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL "grpc" is not supported: use http\/json/)
    expect(failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4318" })).toMatch(
      /OTEL_EXPORTER_OTLP_ENDPOINT is not an http:\/\/ or https:\/\/ URL/
    )
    expect(failure({ OTEL_TRACES_EXPORTER: "zipkin" })).toMatch(/OTEL_TRACES_EXPORTER "zipkin" is not supported: use otlp or none/)
  })
})
