/**
 * `set_presence`: how the agent shows in the guild's member list (per guild, like Discord).
 */
import { Effect, Schema } from "effect"
import { FabricApi } from "../fabric/FabricApi.js"
import { PresenceStatus } from "../fabric/FabricContract.js"
import * as Args from "./Args.js"
import { orExplain } from "./FabricFailure.js"
import { about, bindingFor, guildOf } from "./Target.js"
import { defineTool } from "./Tool.js"

export const setPresence = defineTool({
  name: "set_presence",
  description: "Set the agent's presence in the binding's guild (online, idle, dnd, offline), with an optional activity line.",
  input: Schema.Struct({
    channel_name: Args.channelName,
    status: PresenceStatus.annotations({ description: "online | idle | dnd | offline" }),
    activity: Args.optional(Schema.String.annotations({ description: "What the agent is doing, e.g. \"reviewing PR 12\"." }))
  }),
  run: (input) =>
    Effect.gen(function*() {
      const binding = yield* bindingFor(input.channel_name)
      yield* (yield* FabricApi).putPresence(guildOf(binding), input.status, input.activity).pipe(orExplain(about({ binding })))
      return `agent "${binding.agentId}" is ${input.status} in guild ${binding.guildNodeId}` +
        (input.activity === undefined ? "" : ` (${input.activity})`)
    })
})

export const presenceTools = [setPresence] as const
