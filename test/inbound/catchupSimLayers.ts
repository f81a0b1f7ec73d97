/**
 * The real Fabric side of the plugin (FabricApi, Sessions, CenterApi over undici) for the
 * catch-up and chaos suites, with an optional probe that counts the history calls in flight.
 */
import { Effect, Layer } from "effect"
import { CenterApi } from "../../src/fabric/CenterApi.js"
import { FabricApi } from "../../src/fabric/FabricApi.js"
import { SessionsLive } from "../../src/sessions/Sessions.js"
import { FabricTransportLive } from "../../src/fabric/FabricTransport.js"

export interface HistoryProbe {
  inFlight: number
  maxInFlight: number
  calls: number
}

export const newProbe = (): HistoryProbe => ({ inFlight: 0, maxInFlight: 0, calls: 0 })

/** FabricApi as main.ts builds it, with `listMessages` counted by `probe`. */
const probed = (probe: HistoryProbe) =>
  Layer.effect(
    FabricApi,
    Effect.map(FabricApi, (api) =>
      FabricApi.make({
        ...api,
        listMessages: (g, channelId, query) =>
          Effect.acquireUseRelease(
            Effect.sync(() => {
              probe.calls += 1
              probe.inFlight += 1
              probe.maxInFlight = Math.max(probe.maxInFlight, probe.inFlight)
            }),
            () => api.listMessages(g, channelId, query),
            () => Effect.sync(() => void (probe.inFlight -= 1))
          )
      }))
  ).pipe(Layer.provide(FabricApi.Default))

/** FabricApi and Sessions against the sim the profile's `center_api_base` names. */
export const fabricLayer = (probe: HistoryProbe = newProbe()) =>
  probed(probe).pipe(
    Layer.provideMerge(SessionsLive),
    Layer.provide(CenterApi.Default),
    Layer.provide(FabricTransportLive)
  )
