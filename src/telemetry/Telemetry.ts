/**
 * OpenTelemetry export over OTLP/HTTP, configured only by the standard `OTEL_*` variables.
 *
 * Uses `@effect/opentelemetry`'s own Otlp exporters (pure Effect over HttpClient) rather than
 * the OpenTelemetry JS SDK: they cover traces, metrics and logs over OTLP/HTTP (JSON or
 * protobuf), flush when their scope closes, and need no extra packages.
 *
 * With no endpoint configured the layer only turns tracing off: no tracer, no exporter fiber,
 * no HTTP client, and no span objects at all.
 */
import * as OtlpLogger from "@effect/opentelemetry/OtlpLogger"
import * as OtlpMetrics from "@effect/opentelemetry/OtlpMetrics"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import { FetchHttpClient, HttpBody, HttpClient, HttpClientRequest } from "@effect/platform"
import {
  Config,
  ConfigError,
  ConfigProvider,
  Duration,
  Effect,
  Either,
  ExecutionStrategy,
  Layer,
  Logger,
  Option,
  Redacted,
  Scope
} from "effect"
import { Redactor } from "../secrets/Redactor.js"
import { VERSION } from "../version.js"

export const defaultServiceName = "plexum-fabric-channel"

/**
 * Per exporter, in parallel (see `layerFrom`): MCP clients send SIGTERM 2 s after closing
 * stdin, so the last batch must be on the wire well before that.
 */
export const shutdownTimeout = Duration.millis(1500)

export type OtlpProtocol = "http/json" | "http/protobuf"

export type Signal = "traces" | "metrics" | "logs"

export interface SignalExport {
  readonly url: string
  /** Values are often credentials (`Authorization=Bearer …`), hence Redacted. */
  readonly headers: Readonly<Record<string, Redacted.Redacted<string>>>
  readonly protocol: OtlpProtocol
}

export interface TelemetryConfig {
  readonly serviceName: string
  readonly serviceVersion: string
  /** From OTEL_RESOURCE_ATTRIBUTES, without service.name / service.version (carried above). */
  readonly resourceAttributes: Readonly<Record<string, string>>
  readonly traces: Option.Option<SignalExport>
  readonly metrics: Option.Option<SignalExport>
  readonly logs: Option.Option<SignalExport>
}

// ---------------------------------------------------------------------------------------------
// Parsing the environment

/** The spec treats an empty variable as unset. */
const optional = (name: string): Config.Config<Option.Option<string>> =>
  Config.string(name).pipe(
    Config.option,
    Config.map(Option.flatMap((s) => (s.trim() === "" ? Option.none() : Option.some(s.trim()))))
  )

const invalid = (name: string, message: string) => ConfigError.InvalidData([name], message)

/**
 * `k=v,k2=v2` with percent-encoded keys and values (W3C baggage style), as used by
 * OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES. Errors name the entry by position,
 * never by value: header values are credentials.
 */
export const parseKeyValues = (
  name: string,
  text: string
): Either.Either<Record<string, string>, ConfigError.ConfigError> => {
  const result: Record<string, string> = {}
  const entries = text.split(",").map((e) => e.trim())
  for (const [i, entry] of entries.entries()) {
    if (entry === "") continue
    const eq = entry.indexOf("=")
    const key = eq > 0 ? decode(entry.slice(0, eq).trim()) : undefined
    const value = eq > 0 ? decode(entry.slice(eq + 1).trim()) : undefined
    if (key === undefined || key === "" || value === undefined) {
      return Either.left(
        invalid(name, `entry ${i + 1} is not key=value (percent-encode ',' '=' and '%' inside values)`)
      )
    }
    result[key] = value
  }
  return Either.right(result)
}

const decode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

const keyValues = (name: string): Config.Config<Record<string, string>> =>
  optional(name).pipe(
    Config.mapOrFail(Option.match({ onNone: () => Either.right({}), onSome: (text) => parseKeyValues(name, text) }))
  )

const httpUrl = (name: string) => (text: string): Either.Either<string, ConfigError.ConfigError> => {
  const url = URL.canParse(text) ? new URL(text) : undefined
  return url !== undefined && (url.protocol === "http:" || url.protocol === "https:")
    ? Either.right(text)
    : Either.left(invalid(name, "is not an http:// or https:// URL (for example http://localhost:4318)"))
}

const url = (name: string): Config.Config<Option.Option<string>> =>
  optional(name).pipe(
    Config.mapOrFail(Option.match({
      onNone: () => Either.right(Option.none()),
      onSome: (text) => Either.map(httpUrl(name)(text), Option.some)
    }))
  )

const protocol = (name: string): Config.Config<Option.Option<OtlpProtocol>> =>
  optional(name).pipe(
    Config.mapOrFail(Option.match({
      onNone: () => Either.right(Option.none()),
      onSome: (text) =>
        text === "http/json" || text === "http/protobuf"
          ? Either.right(Option.some(text))
          : Either.left(invalid(name, `"${text}" is not supported: use http/json or http/protobuf (OTLP/HTTP, port 4318)`))
    }))
  )

/** OTEL_<SIGNAL>_EXPORTER: `none` turns the signal off; only `otlp` can turn it on. */
const exporterEnabled = (name: string): Config.Config<boolean> =>
  optional(name).pipe(
    Config.mapOrFail(Option.match({
      onNone: () => Either.right(true),
      onSome: (text) => {
        const values = text.split(",").map((v) => v.trim().toLowerCase())
        if (values.includes("otlp")) return Either.right(true)
        if (values.every((v) => v === "none")) return Either.right(false)
        return Either.left(invalid(name, `"${text}" is not supported: use otlp or none`))
      }
    }))
  )

const signalVariables = (signal: Signal) => {
  const upper = signal.toUpperCase()
  return Config.all({
    exporter: exporterEnabled(`OTEL_${upper}_EXPORTER`),
    endpoint: url(`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`),
    headers: keyValues(`OTEL_EXPORTER_OTLP_${upper}_HEADERS`),
    protocol: protocol(`OTEL_EXPORTER_OTLP_${upper}_PROTOCOL`)
  })
}

/**
 * The whole configuration, read from the ambient ConfigProvider (the process environment in
 * production). Endpoint rules follow the spec: a per-signal endpoint is used as is; the base
 * endpoint gets `/v1/<signal>` appended. No endpoint at all means that signal is off.
 */
export const telemetryConfig: Config.Config<TelemetryConfig> = Config.all({
  disabled: optional("OTEL_SDK_DISABLED").pipe(Config.map(Option.exists((s) => s.toLowerCase() === "true"))),
  serviceName: optional("OTEL_SERVICE_NAME"),
  resource: keyValues("OTEL_RESOURCE_ATTRIBUTES"),
  endpoint: url("OTEL_EXPORTER_OTLP_ENDPOINT"),
  headers: keyValues("OTEL_EXPORTER_OTLP_HEADERS"),
  protocol: protocol("OTEL_EXPORTER_OTLP_PROTOCOL"),
  traces: signalVariables("traces"),
  metrics: signalVariables("metrics"),
  logs: signalVariables("logs")
}).pipe(
  Config.map((env): TelemetryConfig => {
    const signal = (name: Signal): Option.Option<SignalExport> => {
      const own = env[name]
      if (env.disabled || !own.exporter) return Option.none()
      const endpoint = Option.orElse(
        own.endpoint,
        () => Option.map(env.endpoint, (base) => `${base.replace(/\/+$/, "")}/v1/${name}`)
      )
      return Option.map(endpoint, (url) => ({
        url,
        headers: redactValues({ ...env.headers, ...own.headers }),
        protocol: Option.getOrElse(Option.orElse(own.protocol, () => env.protocol), () => "http/json" as const)
      }))
    }
    const { "service.name": resourceName, "service.version": resourceVersion, ...resourceAttributes } = env.resource
    return {
      serviceName: Option.getOrElse(env.serviceName, () => resourceName ?? defaultServiceName),
      serviceVersion: resourceVersion ?? VERSION,
      resourceAttributes,
      traces: signal("traces"),
      metrics: signal("metrics"),
      logs: signal("logs")
    }
  })
)

const redactValues = (record: Record<string, string>): Record<string, Redacted.Redacted<string>> =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, Redacted.make(v)]))

/** `telemetryConfig` evaluated against a given environment: pure, for tests and tools. */
export const telemetryConfigFrom = (
  env: Readonly<Record<string, string | undefined>>
): Either.Either<TelemetryConfig, ConfigError.ConfigError> => {
  const defined = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)
  return Effect.runSync(
    Effect.either(Effect.withConfigProvider(telemetryConfig, ConfigProvider.fromMap(new Map(defined))))
  )
}

export const isExporting = (config: TelemetryConfig): boolean =>
  Option.isSome(config.traces) || Option.isSome(config.metrics) || Option.isSome(config.logs)

// ---------------------------------------------------------------------------------------------
// The layer

const serialization = (protocol: OtlpProtocol) =>
  protocol === "http/protobuf" ? OtlpSerialization.layerProtobuf : OtlpSerialization.layerJson

/**
 * The Otlp constructors read OTEL_RESOURCE_ATTRIBUTES themselves, without percent-decoding;
 * an empty provider makes `TelemetryConfig` the only source of truth.
 */
const noAmbientConfig = ConfigProvider.fromMap(new Map())

/** Starts one signal's exporter in `scope`, or does nothing when that signal is off. */
const startSignal = <A>(
  signal: Option.Option<SignalExport>,
  scope: Scope.Scope,
  start: (options: {
    readonly url: string
    readonly headers: Record<string, string>
    readonly shutdownTimeout: Duration.Duration
  }) => Effect.Effect<A, never, OtlpSerialization.OtlpSerialization | HttpClient.HttpClient | Scope.Scope>
) =>
  Effect.transposeMapOption(signal, (s) =>
    start({
      url: s.url,
      headers: Object.fromEntries(Object.entries(s.headers).map(([k, v]) => [k, Redacted.value(v)])),
      shutdownTimeout
    }).pipe(Effect.provide(serialization(s.protocol)), Scope.extend(scope)))

/**
 * With no trace exporter, spans are not made at all: nothing would read them, and the inbound
 * core then skips its per-batch span and per-message outcome list.
 */
const tracingOff = Layer.setTracerEnabled(false)

/**
 * The exporters for `config`. Their finalizers run in parallel when the layer's scope closes,
 * so the final flush of all signals is bounded by one `shutdownTimeout`, not three.
 */
export const layerFrom = (config: TelemetryConfig): Layer.Layer<never> => {
  if (!isExporting(config)) return tracingOff
  const resource = {
    serviceName: config.serviceName,
    serviceVersion: config.serviceVersion,
    attributes: config.resourceAttributes
  }
  return Layer.unwrapScoped(
    Effect.gen(function*() {
      const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.parallel)
      const tracer = yield* startSignal(config.traces, scope, (o) => OtlpTracer.make({ ...o, resource }))
      yield* startSignal(config.metrics, scope, (o) => OtlpMetrics.make({ ...o, resource }))
      const logger = yield* startSignal(config.logs, scope, (o) => OtlpLogger.make({ ...o, resource }))
      return Layer.mergeAll(
        Option.match(tracer, { onNone: () => tracingOff, onSome: Layer.setTracer }),
        Option.match(logger, { onNone: () => Layer.empty, onSome: Logger.add })
      )
    }).pipe(Effect.withConfigProvider(noAmbientConfig))
  ).pipe(Layer.provide(redactingClient), Layer.provide(FetchHttpClient.layer))
}

/**
 * The exporters' HTTP client, which masks every secret in what it sends: span attributes,
 * statuses, exception messages, log bodies and metric labels all leave through it. The body is
 * read as latin1 (one character per byte) and masked length for length, so a protobuf body keeps
 * its framing.
 */
const redactingClient = Layer.effect(
  HttpClient.HttpClient,
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const redactor = yield* Redactor
    return HttpClient.mapRequest(client, (request) =>
      request.body._tag === "Uint8Array"
        ? HttpClientRequest.setBody(
          request,
          HttpBody.uint8Array(
            new Uint8Array(Buffer.from(redactor.mask(Buffer.from(request.body.body).toString("latin1")), "latin1")),
            request.body.contentType
          )
        )
        : request)
  })
)

/**
 * Telemetry from the process environment. A malformed variable turns export off with one
 * warning naming it, rather than stopping the plugin: observability must not cost availability.
 * Build it after the logger that owns stderr (so that warning never reaches stdout) and before
 * everything it should observe: its tracer and logger then apply to all later layers, and its
 * scope closes, flushing, after theirs.
 */
export const layer: Layer.Layer<never> = Layer.unwrapEffect(
  Effect.match(telemetryConfig, {
    onFailure: (error) =>
      Layer.effectDiscard(
        Effect.logWarning(`OpenTelemetry export is off: ${formatConfigError(error)}. Fix or unset that variable and restart.`)
      ),
    onSuccess: layerFrom
  })
)

/** One line per problem, e.g. `OTEL_EXPORTER_OTLP_ENDPOINT is not an http:// or https:// URL`. */
export const formatConfigError = (error: ConfigError.ConfigError): string =>
  ConfigError.reduceWithContext(error, undefined, {
    andCase: (_, l: string, r: string) => `${l}; ${r}`,
    orCase: (_, l: string, r: string) => `${l}; ${r}`,
    invalidDataCase: (_, path, message) => `${path.join(".")} ${message}`,
    missingDataCase: (_, path, message) => `${path.join(".")} ${message}`,
    sourceUnavailableCase: (_, path, message) => `${path.join(".")} ${message}`,
    unsupportedCase: (_, path, message) => `${path.join(".")} ${message}`
  })
