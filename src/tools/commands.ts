/**
 * `set_commands`: the slash commands the agent offers in a guild. A message that invokes one
 * reaches the agent with `fabric.command` set (and wakes it).
 */
import { Effect, Schema } from "effect"
import { FabricApi } from "../fabric/FabricApi.js"
import * as Args from "./Args.js"
import { orExplain } from "./FabricFailure.js"
import { about, bindingFor, guildOf } from "./Target.js"
import { defineTool } from "./Tool.js"

const CommandOption = Schema.Struct({
  name: Args.Id("The option's name."),
  description: Schema.String.annotations({ description: "What the option is for." }),
  required: Args.optional(Schema.Boolean.annotations({ description: "Default: false." }))
})

const SlashCommand = Schema.Struct({
  name: Args.Id("The command's name, without the slash (e.g. \"summarize\")."),
  description: Schema.String.annotations({ description: "What the command does, shown to users." }),
  options: Args.optional(Schema.Array(CommandOption))
})

export const setCommands = defineTool({
  name: "set_commands",
  description: "Replace the agent's slash commands in the binding's guild (an empty list removes them all). " +
    "A message invoking one reaches the agent with fabric.command {name, args}.",
  input: Schema.Struct({
    channel_name: Args.channelName,
    commands: Schema.Array(SlashCommand).annotations({ description: "The complete list of commands." })
  }),
  run: (input) =>
    Effect.gen(function*() {
      const binding = yield* bindingFor(input.channel_name)
      yield* (yield* FabricApi).putCommands(guildOf(binding), input.commands).pipe(orExplain(about({ binding })))
      return input.commands.length === 0
        ? `removed the slash commands of agent "${binding.agentId}" in guild ${binding.guildNodeId}`
        : `registered ${input.commands.length} slash command(s) in guild ${binding.guildNodeId}: ` +
          input.commands.map((command) => `/${command.name}`).join(", ")
    })
})

export const commandTools = [setCommands] as const
