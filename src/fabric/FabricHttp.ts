/**
 * The one way the plugin speaks HTTP to Fabric (center and guild nodes alike): a JSON or
 * multipart request, the response decoded with a Schema, and the status rules of the
 * contract's Errors table (`statusRule`). 429 waits `Retry-After`; 5xx, a refused connection
 * and a timeout back off on `retryPolicy`; every other failure is a FabricError at once. The
 * bytes travel through FabricTransport (undici).
 *
 * The timing (`RequestPolicy`) is a context reference with the config defaults, so that a
 * caller holding the profile provides its own without this service depending on the profile
 * (the register command logs in before any profile is loaded); FabricApi passes it with each
 * request instead.
 */
import { Clock, Context, Data, Duration, Effect, Metric, MetricLabel, Option, ParseResult, Redacted, Schedule, Schema } from "effect"
import { restCalls } from "../telemetry/Metrics.js"
import { annotateSpan, Attr, fabricRestSpan, withSpanWhileTracing } from "../telemetry/Spans.js"
import { ErrorBody, RETRY_AFTER_HEADER, type RouteName, RouteTemplates, statusRule } from "./FabricContract.js"
import { FabricError } from "./FabricError.js"
import { declaredLength, FabricTransport, type TransportAnswer, type TransportFailure, type TransportHeaders } from "./FabricTransport.js"

// ---------------------------------------------------------------------------------------------
// Timing policy

export interface RequestPolicyShape {
  /** Bound on one attempt: connect, status and body. */
  readonly timeout: Duration.Duration
  /** Retries of a transient failure (5xx, refused, timeout, 429) before it is reported. */
  readonly maxRetries: number
  /** Largest JSON body read; a larger one is refused, and no more of it is read. */
  readonly maxResponseBytes: number
}

/** The defaults of `request_timeout_seconds`, `max_retries` (profile.md) and `max_response_mib`. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 15
export const DEFAULT_MAX_RETRIES = 4
export const DEFAULT_MAX_RESPONSE_MIB = 8

const MIB = 1024 * 1024

/** The policy of a profile's `config.json` (fields as profile.md names them). */
export const requestPolicy = (config: {
  readonly request_timeout_seconds: number
  readonly max_retries: number
  readonly max_response_mib?: number
}): RequestPolicyShape => ({
  timeout: Duration.seconds(config.request_timeout_seconds),
  maxRetries: config.max_retries,
  maxResponseBytes: (config.max_response_mib ?? DEFAULT_MAX_RESPONSE_MIB) * MIB
})

/**
 * When the call this request serves must be over (epoch ms, on the Effect clock): a tool call
 * sets it, so that a `Retry-After` past it fails at once instead of sleeping into the deadline.
 */
export class CallDeadline extends Context.Reference<CallDeadline>()("plexum-fabric/CallDeadline", {
  defaultValue: () => Option.none<number>()
}) {}

export class RequestPolicy extends Context.Reference<RequestPolicy>()("plexum-fabric/RequestPolicy", {
  defaultValue: () =>
    requestPolicy({ request_timeout_seconds: DEFAULT_REQUEST_TIMEOUT_SECONDS, max_retries: DEFAULT_MAX_RETRIES })
}) {}

/** First backoff step; each further one doubles, up to `RETRY_MAX_DELAY`, ±20 % jitter. */
export const RETRY_BASE_DELAY = Duration.millis(250)
export const RETRY_MAX_DELAY = Duration.seconds(8)
/** A `Retry-After` longer than this is cut to it: a plugin call must not hang for hours. */
export const RETRY_AFTER_MAX = Duration.seconds(60)

/** A failure worth another attempt: transient, or rate limited with the server's own delay. */
class Retryable extends Data.TaggedError("Retryable")<{
  readonly kind: "rate_limited" | "server_error" | "no_connection" | "cut_off" | "timeout"
  readonly status: number | undefined
  /** What happened, for the final message: `503`, `no connection`, `no answer within 15s`. */
  readonly detail: string
  readonly retryAfter: Option.Option<Duration.Duration>
}> {}

const retryable = (kind: Retryable["kind"], detail: string, status?: number, retryAfter = Option.none<Duration.Duration>()) =>
  new Retryable({ kind, detail, status, retryAfter })

/**
 * Exponential jittered backoff, capped, at most `maxRetries` retries; a 429 waits what its
 * `Retry-After` says instead. Any other error ends the schedule.
 */
export const retryPolicy = (maxRetries: number) =>
  Schedule.exponential(RETRY_BASE_DELAY, 2).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, RETRY_MAX_DELAY)),
    Schedule.jittered,
    Schedule.intersect(Schedule.identity<unknown>()),
    Schedule.modifyDelay(([, error], delay) =>
      error instanceof Retryable ? Option.getOrElse(error.retryAfter, () => delay) : delay
    ),
    Schedule.intersect(Schedule.recurs(maxRetries)),
    Schedule.whileInput((error: unknown) => error instanceof Retryable)
  )

/** `Retry-After: <seconds>`, bounded; an HTTP-date or garbage falls back to the backoff. */
export const parseRetryAfter = (value: string | undefined): Option.Option<Duration.Duration> => {
  if (value === undefined || !/^\s*\d+(\.\d+)?\s*$/.test(value)) return Option.none()
  return Option.some(Duration.min(Duration.seconds(Number(value)), RETRY_AFTER_MAX))
}

// ---------------------------------------------------------------------------------------------
// Requests

/** Bytes read from a download, at most the cap asked for. */
export interface Download {
  readonly bytes: Uint8Array
  /** False when the body was longer than the cap: `bytes` holds only its start. */
  readonly complete: boolean
  readonly contentType: string | undefined
  readonly contentLength: number | undefined
}

export interface FabricRequest<A, I> extends RequestTarget {
  /** The 2xx body; `Schema.Void` for 204. */
  readonly response: Schema.Schema<A, I>
  /**
   * A hand-written decoder that answers as `response` does (MessageDecoder.ts), for bodies read
   * by the thousand; `response` still words the error when it answers undefined.
   */
  readonly decode?: ((body: unknown) => A | undefined) | undefined
}

export interface RequestTarget {
  /** Picks the method and the template for spans, metrics and messages. */
  readonly route: RouteName
  /** `center_api_base` or a guild `endpoint`. */
  readonly base: string
  /** From `Paths`. */
  readonly path: string
  /** Who answers, for messages: "the Fabric center", "guild g_1". */
  readonly target: string
  readonly token?: Redacted.Redacted<string> | undefined
  readonly urlParams?: Record<string, string | undefined> | undefined
  /** An encoded JSON body. */
  readonly json?: unknown
  /** A `multipart/form-data` body. */
  readonly formData?: FormData | undefined
  /**
   * The timing of this request; without it, the `RequestPolicy` of the context. A caller that
   * sends thousands passes its own here rather than providing it around every call.
   */
  readonly policy?: RequestPolicyShape | undefined
}

const methodOf = (route: RouteName) => RouteTemplates[route].split(" ")[0] as "GET" | "POST" | "PUT"

const joinUrl = (base: string, path: string) => `${base.replace(/\/+$/, "")}${path}`

/** Fabric's own words are shown, on one line and short: they come from the network. */
const oneLine = (text: string, max = 200) => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max)}…` : flat
}

interface ErrorInfo {
  readonly code: string | undefined
  readonly message: string | undefined
  readonly current: unknown
}

const parseJson = (text: string): Option.Option<unknown> => {
  try {
    return Option.some(JSON.parse(text) as unknown)
  } catch {
    return Option.none()
  }
}

const errorInfo = (text: string): ErrorInfo =>
  parseJson(text).pipe(
    Option.flatMap(Schema.decodeUnknownOption(ErrorBody)),
    Option.match({
      onNone: () => ({ code: undefined, message: undefined, current: undefined }),
      onSome: ({ error }) => ({ code: error.code, message: oneLine(error.message), current: error.current })
    })
  )

/** What a caller can do about a status that retrying will not change. */
const advice: Record<number, readonly [FabricError["reason"], string]> = {
  400: ["bad_request", "correct the request and send it again"],
  401: ["unauthorized", "log in again"],
  403: ["forbidden", "check that the agent is a member of the guild and channel in Fabric"],
  404: ["not_found", "check the id; it may have been deleted, or it belongs to another guild"],
  409: ["conflict", "read the current state and apply the change to it"],
  413: ["too_large", "send less: split the content or shrink the file"]
}

const reported = (request: RequestTarget, status: number, info: ErrorInfo) => {
  const [reason, todo] = advice[status] ?? ["bad_request", "check that the plugin and Fabric speak the same contract version"]
  const said = info.message === undefined ? "" : `: ${info.message}`
  return new FabricError({
    route: RouteTemplates[request.route],
    reason,
    status,
    code: info.code,
    message: `${request.target} refused ${RouteTemplates[request.route]} (${status}${info.code === undefined ? "" : ` ${info.code}`})${said}; ${todo}`,
    current: info.current
  })
}

/** Paths and kinds of schema issues, never the values: a body may hold tokens. */
const describeParseError = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .slice(0, 3)
    .map((issue) => `${issue.path.length === 0 ? "body" : issue.path.join(".")} ${issue._tag === "Missing" ? "is missing" : "has an unexpected value"}`)
    .join(", ")

const invalidResponse = (request: RequestTarget, status: number, detail: string) =>
  new FabricError({
    route: RouteTemplates[request.route],
    reason: "invalid_response",
    status,
    message: `${request.target} answered ${RouteTemplates[request.route]} with ${status} but ${detail}; ` +
      `check that ${request.base} is a Fabric v1 endpoint (center_api_base in the plugin config, or the guild's endpoint)`
  })

const exhausted = (request: RequestTarget, last: Retryable, attempts: number) =>
  new FabricError({
    route: RouteTemplates[request.route],
    reason: last.kind === "rate_limited" ? "rate_limited" : "unavailable",
    status: last.status,
    message: last.kind === "rate_limited"
      ? `${request.target} kept rate-limiting ${RouteTemplates[request.route]} (429, ${attempts} attempt(s)); wait a minute and try again`
      : `${request.target} at ${request.base} did not serve ${RouteTemplates[request.route]} (${last.detail}, ${attempts} attempt(s)); ` +
        `check that Fabric is running and reachable from this machine, then try again`
  })

const bodyTooLarge = (request: RequestTarget, status: number, max: number) =>
  new FabricError({
    route: RouteTemplates[request.route],
    reason: "too_large",
    status,
    message: `${request.target} answered ${RouteTemplates[request.route]} with a body over ${max / MIB} MiB, which the plugin ` +
      `does not read; ask for less (a smaller limit or page), or raise max_response_mib in the plugin config`
  })

const pastDeadline = (request: RequestTarget, wait: Duration.Duration) =>
  new FabricError({
    route: RouteTemplates[request.route],
    reason: "rate_limited",
    status: 429,
    message: `${request.target} is rate-limiting ${RouteTemplates[request.route]} and asks to wait ${Duration.format(wait)}, ` +
      `past this call's deadline (tool_call_timeout_seconds); try again after that wait`
  })

const badUrl = (request: RequestTarget) =>
  new FabricError({
    route: RouteTemplates[request.route],
    reason: "unavailable",
    message: `${request.target}: "${request.base}" is not a valid URL; fix center_api_base in the plugin config ` +
      `(or the guild endpoint registered in Fabric)`
  })

export class FabricHttp extends Effect.Service<FabricHttp>()("plexum-fabric/FabricHttp", {
  effect: Effect.gen(function*() {
    const transport = yield* FabricTransport

    /**
     * Encoded once, by the runtime's Fetch encoder, so every attempt sends the same bytes with
     * the boundary its content type names.
     */
    const encodeBody = (request: RequestTarget): Effect.Effect<{ readonly body: string | Uint8Array | undefined; readonly type: string | undefined }> =>
      request.formData !== undefined
        ? Effect.promise(async () => {
          const encoded = new Response(request.formData)
          const bytes = new Uint8Array(await encoded.arrayBuffer())
          return { body: bytes, type: encoded.headers.get("content-type") ?? "multipart/form-data" }
        })
        : Effect.succeed(request.json === undefined ? { body: undefined, type: undefined } : { body: JSON.stringify(request.json), type: "application/json" })

    const urlOf = (request: RequestTarget) => {
      const url = joinUrl(request.base, request.path)
      if (request.urlParams === undefined) return url
      const params = new URLSearchParams()
      for (const [name, value] of Object.entries(request.urlParams)) if (value !== undefined) params.append(name, value)
      const query = params.toString()
      return query === "" ? url : `${url}?${query}`
    }

    const headersOf = (request: RequestTarget, type: string | undefined) => {
      const headers: Record<string, string> = {}
      // An attachment is whatever type it is; every other answer is JSON.
      if (request.route !== "downloadAttachment") headers["accept"] = "application/json"
      if (request.token !== undefined) headers["authorization"] = `Bearer ${Redacted.value(request.token)}`
      if (type !== undefined) headers["content-type"] = type
      return headers
    }

    // The labels of each (route, status), made once: the metric finds its counter by the array's
    // identity, where labels made per call hashed a new metric key into the registry each time.
    const labelsByCall = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
    const calls = restCalls as Metric.Metric.Counter<number>
    const count = (request: RequestTarget, status: number | string) => {
      const key = `${request.route} ${status}`
      let labels = labelsByCall.get(key)
      if (labels === undefined) {
        labels = [MetricLabel.make("route", RouteTemplates[request.route]), MetricLabel.make("status", String(status))]
        labelsByCall.set(key, labels)
      }
      calls.unsafeUpdate(1, labels)
    }

    const decodeBody = <A, I>(request: FabricRequest<A, I>, status: number, text: string) => {
      const json = text.trim() === "" ? Option.some<unknown>(undefined) : parseJson(text)
      if (Option.isNone(json)) return Effect.fail(invalidResponse(request, status, "the body is not JSON"))
      const decoded = request.decode?.(json.value)
      if (decoded !== undefined) return Effect.succeed(decoded)
      return Schema.decodeUnknown(request.response)(json.value).pipe(
        Effect.mapError((error) => invalidResponse(request, status, `the body does not match the contract (${describeParseError(error)})`))
      )
    }

    /** A status other than 2xx: retried or reported, from the error body's code and words. */
    const onRefusal = (request: RequestTarget, answer: TransportAnswer) => {
      const status = answer.status
      switch (statusRule(status)) {
        case "rate_limited":
          return Effect.fail(retryable("rate_limited", "429", status, parseRetryAfter(answer.headers[RETRY_AFTER_HEADER])))
        case "transient":
          return Effect.fail(retryable("server_error", String(status), status))
        default:
          return Effect.fail(reported(request, status, errorInfo(answer.body.toString("utf8"))))
      }
    }

    /** A JSON body is read whole up to the bound, and none of one declared over it. */
    const jsonLimit = (headers: TransportHeaders, max: number) => ((declaredLength(headers) ?? 0) > max ? 0 : max)

    const fromTransport = (request: RequestTarget, policy: RequestPolicyShape, failure: TransportFailure): Retryable | FabricError => {
      if (failure.kind === "invalid_url") return badUrl(request)
      count(request, failure.kind)
      switch (failure.kind) {
        case "no_connection":
          return retryable("no_connection", "no connection")
        // The status line arrived, the body did not: the connection broke mid-way.
        case "cut_off":
          return retryable("cut_off", "the body was cut off", failure.status)
        case "timeout":
          return retryable("timeout", `no answer within ${Duration.format(policy.timeout)}`)
      }
    }

    /**
     * Sends `request`, retrying what the contract calls transient; `onOk` reads a 2xx answer,
     * of which the transport read at most `okLimit(headers, max_response_mib in bytes)` bytes.
     */
    const exchange = <A>(
      request: RequestTarget,
      okLimit: (headers: TransportHeaders, max: number) => number,
      onOk: (answer: TransportAnswer, maxBytes: number) => Effect.Effect<A, FabricError>
    ): Effect.Effect<A, FabricError> =>
      traced(request, Effect.flatMap(Effect.zip(request.policy === undefined ? RequestPolicy : Effect.succeed(request.policy), encodeBody(request)), ([policy, encoded]) => {
        const max = policy.maxResponseBytes
        const sent = {
          method: methodOf(request.route),
          url: urlOf(request),
          headers: headersOf(request, encoded.type),
          body: encoded.body,
          timeout: policy.timeout,
          readLimit: (status: number, headers: TransportHeaders) =>
            statusRule(status) === "ok" ? okLimit(headers, max) : jsonLimit(headers, max)
        }
        let attempts = 0
        /** One exchange: status and body within the timeout. */
        const attempt: Effect.Effect<A, FabricError | Retryable> = Effect.suspend(() => {
          attempts += 1
          return Effect.matchEffect(transport.send(sent), {
            onFailure: (failure) => Effect.fail(fromTransport(request, policy, failure)),
            onSuccess: (answer) => {
              count(request, answer.status)
              const read: Effect.Effect<A, FabricError | Retryable> = statusRule(answer.status) === "ok"
                ? onOk(answer, max)
                : onRefusal(request, answer)
              return Effect.zipRight(annotateSpan({ [Attr.status]: answer.status }), read)
            }
          })
        })
        return attempt.pipe(
          Effect.catchTag("Retryable", withinDeadline(request)),
          Effect.retry(retryPolicy(policy.maxRetries)),
          Effect.catchTag("Retryable", (last) => Effect.fail(exhausted(request, last, attempts))),
          Effect.ensuring(Effect.suspend(() => annotateSpan({ [Attr.attempts]: attempts })))
        )
      }))

    /** A server-asked wait that would end after the call's deadline is not waited for. */
    const withinDeadline = (request: RequestTarget) => (error: Retryable): Effect.Effect<never, Retryable | FabricError> =>
      Effect.flatMap(CallDeadline, (deadline) => {
        if (Option.isNone(deadline) || Option.isNone(error.retryAfter)) return Effect.fail(error)
        const wait = error.retryAfter.value
        return Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<never, Retryable | FabricError> =>
          Duration.toMillis(wait) <= deadline.value - now ? Effect.fail(error) : Effect.fail(pastDeadline(request, wait)))
      })

    /** A span per call while spans are on; while they are off, not even a no-op one. */
    const traced = <A, E>(request: RequestTarget, self: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      withSpanWhileTracing(self, fabricRestSpan(RouteTemplates[request.route]), {
        kind: "client",
        attributes: { [Attr.httpMethod]: methodOf(request.route), [Attr.route]: RouteTemplates[request.route] }
      })

    /** How a 2xx answer is read: its JSON, refused when over the policy's bound, decoded with the request's schema. */
    const readJson = <A, I>(request: FabricRequest<A, I>) => (answer: TransportAnswer, max: number) =>
      answer.complete
        ? decodeBody(request, answer.status, answer.body.toString("utf8"))
        : Effect.fail(bodyTooLarge(request, answer.status, max))

    /**
     * Sends `request` and decodes its answer; fails with a FabricError whose message names the
     * route and what to do. Never logs a token or a body.
     */
    const request = <A, I>(request: FabricRequest<A, I>): Effect.Effect<A, FabricError> =>
      exchange(request, jsonLimit, readJson(request))

    /**
     * Fetches raw bytes (an attachment), reading at most `capFor(content type)` of them: past
     * that the body is left unread and `complete` is false, so a huge file costs no more than
     * the cap, and a cap of 0 reads nothing.
     */
    const download = (request: RequestTarget, capFor: (contentType: string | undefined) => number): Effect.Effect<Download, FabricError> =>
      exchange(request, (headers) => capFor(headers["content-type"]), (answer) =>
        Effect.succeed<Download>({
          bytes: new Uint8Array(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength),
          complete: answer.complete,
          contentType: answer.headers["content-type"],
          contentLength: declaredLength(answer.headers)
        }))

    return { request, download } as const
  })
}) {}
