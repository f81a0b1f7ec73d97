/**
 * Effect's Logger bridged to the host: every `Effect.log*` becomes a stderr line and, at or above
 * the level the host set, a `notifications/message`. Nothing else in the plugin formats logs.
 */
import { Cause, Effect, HashMap, Layer, Logger, LogLevel } from "effect"
import { HostApi } from "./HostApi.js"
import type { LogLevel as HostLevel } from "./HostProtocol.js"

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

const makeLogger = (host: HostApi) =>
  Logger.make(({ annotations, cause, logLevel, message }) => {
    const fields: Record<string, unknown> = Object.fromEntries(HashMap.toEntries(annotations))
    if (!Cause.isEmpty(cause)) fields.cause = Cause.pretty(cause, { renderErrorCause: true })
    host.unsafeLog(toHostLevel(logLevel), render(message), fields)
  })

/** Replaces the default logger; debug logs reach it so that `logging/setLevel debug` shows them. */
export const HostLoggerLive = Layer.unwrapEffect(
  Effect.map(HostApi, (host) => Logger.replace(Logger.defaultLogger, makeLogger(host)))
).pipe(Layer.merge(Logger.minimumLogLevel(LogLevel.Debug)))
