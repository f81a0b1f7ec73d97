/**
 * An OTLP/HTTP receiver inside the test: a plain node:http server on 127.0.0.1:0 accepting
 * JSON POSTs to /v1/traces, /v1/metrics and /v1/logs. It keeps every raw byte (to scan for
 * secrets) and the parsed spans, metric names and log records (to assert on). Waits are
 * driven by arrivals, each with a timeout: nothing sleeps.
 */
import { Duration, Effect, Option, Runtime, Stream, SubscriptionRef } from "effect"
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"

export interface ReceivedSpan {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly kind: number
  readonly attributes: Readonly<Record<string, unknown>>
  readonly status: { readonly code: number; readonly message?: string }
  readonly links: ReadonlyArray<{ readonly traceId: string; readonly spanId: string; readonly attributes: Readonly<Record<string, unknown>> }>
  readonly resource: Readonly<Record<string, unknown>>
}

export interface ReceivedMetric {
  readonly name: string
  /** Every data point: its attributes and value (asInt / asDouble, or a histogram count). */
  readonly points: ReadonlyArray<{ readonly attributes: Readonly<Record<string, unknown>>; readonly value: number | undefined }>
}

export interface ReceivedLog {
  readonly body: unknown
  readonly severityText: string | undefined
  readonly traceId: string | undefined
  readonly spanId: string | undefined
  readonly attributes: Readonly<Record<string, unknown>>
}

export interface ReceivedRequest {
  readonly path: string
  readonly contentType: string | undefined
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export interface Received {
  readonly requests: ReadonlyArray<ReceivedRequest>
  readonly spans: ReadonlyArray<ReceivedSpan>
  readonly metrics: ReadonlyArray<ReceivedMetric>
  readonly logs: ReadonlyArray<ReceivedLog>
}

const empty: Received = { requests: [], spans: [], metrics: [], logs: [] }

type KeyValue = { readonly key: string; readonly value: Record<string, unknown> }

/** OTLP JSON attribute lists → plain records (`{stringValue: "x"}` → `"x"`). */
export const attributesOf = (list: ReadonlyArray<KeyValue> | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, anyValue(value)]))

const anyValue = (value: Record<string, unknown>): unknown => {
  if ("arrayValue" in value) {
    const values = (value.arrayValue as { values?: Array<Record<string, unknown>> }).values ?? []
    return values.map(anyValue)
  }
  const [first] = Object.values(value)
  return first
}

// OTLP JSON bodies are read defensively, as `any`: a malformed export shows up as a failed assertion.
const parseTraces = (body: any): Array<ReceivedSpan> =>
  (body.resourceSpans ?? []).flatMap((rs: any) =>
    (rs.scopeSpans ?? []).flatMap((ss: any) =>
      (ss.spans ?? []).map((s: any): ReceivedSpan => ({
        name: s.name,
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId || undefined,
        kind: s.kind,
        attributes: attributesOf(s.attributes),
        status: s.status ?? { code: 0 },
        links: (s.links ?? []).map((l: any) => ({
          traceId: l.traceId,
          spanId: l.spanId,
          attributes: attributesOf(l.attributes)
        })),
        resource: attributesOf(rs.resource?.attributes)
      }))
    )
  )

const parseMetrics = (body: any): Array<ReceivedMetric> =>
  (body.resourceMetrics ?? []).flatMap((rm: any) =>
    (rm.scopeMetrics ?? []).flatMap((sm: any) =>
      (sm.metrics ?? []).map((m: any): ReceivedMetric => {
        const points = m.sum?.dataPoints ?? m.gauge?.dataPoints ?? m.histogram?.dataPoints ?? []
        return {
          name: m.name,
          points: points.map((p: any) => ({
            attributes: attributesOf(p.attributes),
            value: p.asInt ?? p.asDouble ?? (p.count === undefined ? undefined : Number(p.count))
          }))
        }
      })
    )
  )

const parseLogs = (body: any): Array<ReceivedLog> =>
  (body.resourceLogs ?? []).flatMap((rl: any) =>
    (rl.scopeLogs ?? []).flatMap((sl: any) =>
      (sl.logRecords ?? []).map((r: any): ReceivedLog => ({
        body: r.body === undefined ? undefined : anyValue(r.body),
        severityText: r.severityText,
        traceId: r.traceId || undefined,
        spanId: r.spanId || undefined,
        attributes: attributesOf(r.attributes)
      }))
    )
  )

const record = (state: Received, request: ReceivedRequest): Received => {
  const next = { ...state, requests: [...state.requests, request] }
  const json = safeJson(request.body)
  if (json === undefined) return next
  switch (request.path) {
    case "/v1/traces":
      return { ...next, spans: [...next.spans, ...parseTraces(json)] }
    case "/v1/metrics":
      return { ...next, metrics: [...next.metrics, ...parseMetrics(json)] }
    case "/v1/logs":
      return { ...next, logs: [...next.logs, ...parseLogs(json)] }
    default:
      return next
  }
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT, e.g. `http://127.0.0.1:40123`. */
  readonly endpoint: string
  readonly received: Effect.Effect<Received>
  /** Every request body received so far, concatenated: for scanning for secrets. */
  readonly rawText: Effect.Effect<string>
  /** The first state satisfying `predicate`, or a failure after `timeout`. */
  readonly waitFor: (
    predicate: (received: Received) => boolean,
    timeout?: Duration.DurationInput
  ) => Effect.Effect<Received, Error>
  /** The metric with this name in the most recent export that carried it. */
  readonly latestMetric: (name: string) => Effect.Effect<Option.Option<ReceivedMetric>>
}

export interface ReceiverOptions {
  /** false: record requests but never answer them, like a collector that has stalled. */
  readonly respond?: boolean
}

/** Starts the receiver; the server closes with the scope. */
export const makeOtlpReceiver = (options: ReceiverOptions = {}) => Effect.gen(function*() {
  const state = yield* SubscriptionRef.make(empty)
  const runSync = Runtime.runSync(yield* Effect.runtime<never>())

  const server = yield* Effect.acquireRelease(
    Effect.async<ReturnType<typeof createServer>, Error>((resume) => {
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const path = (req.url ?? "/").split("?")[0]!
          const known = req.method === "POST" && ["/v1/traces", "/v1/metrics", "/v1/logs"].includes(path)
          if (known) {
            const request: ReceivedRequest = {
              path,
              contentType: req.headers["content-type"],
              headers: req.headers,
              body: Buffer.concat(chunks).toString("utf8")
            }
            runSync(SubscriptionRef.update(state, (s) => record(s, request)))
          }
          if (options.respond === false) return
          res.writeHead(known ? 200 : 404, { "content-type": "application/json" }).end(known ? "{}" : "")
        })
      })
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )
  const { port } = server.address() as AddressInfo

  const receiver: OtlpReceiver = {
    endpoint: `http://127.0.0.1:${port}`,
    received: SubscriptionRef.get(state),
    rawText: Effect.map(SubscriptionRef.get(state), (s) => s.requests.map((r) => r.body).join("\n")),
    waitFor: (predicate, timeout = Duration.seconds(5)) =>
      state.changes.pipe(
        Stream.filter(predicate),
        Stream.runHead,
        Effect.flatMap(Effect.orDie),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new Error(`OTLP receiver: expected telemetry did not arrive within ${Duration.format(Duration.decode(timeout))}`)
        })
      ),
    latestMetric: (name) =>
      Effect.map(SubscriptionRef.get(state), (s) => Option.fromNullable([...s.metrics].reverse().find((m) => m.name === name)))
  }
  return receiver
})
