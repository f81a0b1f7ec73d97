/**
 * Doubles for the presence services: a FabricApi whose typing and presence calls are recorded
 * (with the TestClock time) and answered by a script, a profile, and a log capture.
 */
import { Clock, Effect, Layer, Logger, Redacted } from "effect"
import { FabricApi, type FabricCallError, type GuildRef } from "../../src/fabric/FabricApi.js"
import { PresenceSync } from "../../src/presence/PresenceSync.js"
import { Typing } from "../../src/presence/Typing.js"
import { ActiveProfile, defaultConfig, type PluginConfig } from "../../src/profile/ProfileSchema.js"

export interface Recorded {
  readonly method: "startTyping" | "putPresence"
  readonly at: number
  readonly agentId: string
  readonly guildNodeId: string
  readonly channelId?: string
  readonly status?: string
  readonly activity?: string | undefined
}

export const fakeFabric = (answer: (call: Recorded) => Effect.Effect<void, FabricCallError> = () => Effect.void) => {
  const calls: Array<Recorded> = []
  const record = (call: Omit<Recorded, "at">) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => {
      const entry = { ...call, at } as Recorded
      calls.push(entry)
      return answer(entry)
    })
  const api = {
    startTyping: (g: GuildRef, channelId: string) => record({ method: "startTyping", ...g, channelId }),
    putPresence: (g: GuildRef, status: string, activity?: string) => record({ method: "putPresence", ...g, status, activity })
  } as unknown as FabricApi
  return { layer: Layer.succeed(FabricApi, api), calls }
}

export const profile = (config: Partial<PluginConfig> = {}) =>
  Layer.succeed(ActiveProfile, {
    root: "/nonexistent/plexum-profile",
    config: { ...defaultConfig, ...config },
    identities: new Map([["scout", { agentId: "scout", apiKey: Redacted.make("k"), enabled: true }]]),
    bindings: []
  })

/** Log lines (level and message) written while `effect` runs. */
export const captureLogs = () => {
  const lines: Array<{ readonly level: string; readonly message: string }> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push({ level: logLevel.label, message: Array.isArray(message) ? message.join(" ") : String(message) })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** For tests of the inbound side that are not about presence or typing: both do nothing. */
export const presenceOff = Layer.mergeAll(
  Layer.succeed(Typing, Typing.make({ notified: () => Effect.void, posted: () => Effect.void })),
  Layer.succeed(PresenceSync, PresenceSync.make({ connected: () => Effect.void }))
)
