/**
 * Effect's Logger bridged to the host: every `Effect.log*` becomes a stderr line and, at or above
 * the level the host set, a `notifications/message`. Nothing else in the plugin formats logs.
 */
import { Cause, Clock, Duration, Effect, HashMap, Layer, Logger, LogLevel, Option, Schedule } from "effect"
import { HostApi } from "./HostApi.js"
import type { LogLevel as HostLevel } from "./HostProtocol.js"
import { LOG_INTERVAL_MS, logKind, makeLogLimiter, type Summary, summaryLine } from "./LogLimiter.js"

const toHostLevel = (level: LogLevel.LogLevel): HostLevel => {
  switch (level._tag) {
    case "All":
    case "Trace":
    case "Debug":
      return "debug"
    case "Info":
    case "None":
      return "info"
    case "Warning":
      return "warning"
    default:
      return "error"
  }
}

const render = (message: unknown): string =>
  (Array.isArray(message) ? message : [message]).map((part) => (typeof part === "string" ? part : JSON.stringify(part))).join(" ")

const summarise = (host: HostApi, summaries: ReadonlyArray<Summary>) => {
  for (const summary of summaries) host.unsafeLog(summary.level as HostLevel, summaryLine(summary), {})
}

const makeLogger = (host: HostApi, limiter: ReturnType<typeof makeLogLimiter>) =>
  Logger.make(({ annotations, cause, date, logLevel, message }) => {
    const level = toHostLevel(logLevel)
    const text = render(message)
    const now = date.getTime()
    summarise(host, limiter.expire(now))
    if (!limiter.admit(logKind(level, Option.getOrUndefined(HashMap.get(annotations, "service")), text), level, text, now)) return
    const fields: Record<string, unknown> = Object.fromEntries(HashMap.toEntries(annotations))
    if (!Cause.isEmpty(cause)) fields.cause = Cause.pretty(cause, { renderErrorCause: true })
    host.unsafeLog(level, text, fields)
  })

/**
 * Replaces the default logger; debug logs reach it so that `logging/setLevel debug` shows them.
 * Repeated lines are summarised (LogLimiter); a fiber writes the summaries of a flood that stopped.
 */
export const HostLoggerLive = Layer.unwrapScoped(
  Effect.gen(function*() {
    const host = yield* HostApi
    const limiter = makeLogLimiter()
    yield* Clock.currentTimeMillis.pipe(
      Effect.map((now) => summarise(host, limiter.expire(now))),
      Effect.repeat(Schedule.spaced(Duration.millis(LOG_INTERVAL_MS))),
      Effect.forkScoped
    )
    return Logger.replace(Logger.defaultLogger, makeLogger(host, limiter))
  })
).pipe(Layer.merge(Logger.minimumLogLevel(LogLevel.Debug)))
