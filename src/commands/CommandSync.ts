/**
 * Command sync (profile.md v1.1 "Slash commands"): after every successful connect of an
 * (agent, guild) socket, the union of the commands of the agent's bindings in that guild is
 * registered with `PUT /api/commands`, only when that union is non-empty. A node that does not
 * have the route (`404 not_found`, fabric-api.md v1.1) is told once, at info, and not asked
 * again until the plugin restarts. Registration never fails the connection that asked for it:
 * a failure is a warning, and the next connect tries again.
 */
import { Effect, Ref } from "effect"
import { FabricApi, type FabricCallError, type GuildRef, guildKey } from "../fabric/FabricApi.js"
import { ROUTE_NOT_FOUND_CODE, type SlashCommand } from "../fabric/FabricContract.js"
import { ActiveProfile, type Binding } from "../profile/ProfileSchema.js"
import { annotateSpan, fnWhileTracing } from "../telemetry/Spans.js"

type Command = typeof SlashCommand.Type

/**
 * The union of the commands of `ref.agentId`'s bindings in `ref.guildNodeId`, by name: the
 * first binding (by channel name) that defines a name wins, so a command shared by several
 * bindings is registered once.
 */
export const commandsOf = (bindings: ReadonlyArray<Binding>, ref: GuildRef): ReadonlyArray<Command> => {
  const byName = new Map<string, Command>()
  for (const binding of bindings) {
    if (binding.agentId !== ref.agentId || binding.guildNodeId !== ref.guildNodeId) continue
    for (const command of binding.commands ?? []) if (!byName.has(command.name)) byName.set(command.name, command)
  }
  return [...byName.values()]
}

/** The node answered that it has no such route (a v1 node): not an error, not asked again. */
const routeMissing = (error: FabricCallError) =>
  error._tag === "FabricError" && error.status === 404 && error.code === ROUTE_NOT_FOUND_CODE

export class CommandSync extends Effect.Service<CommandSync>()("plexum-fabric/CommandSync", {
  effect: Effect.gen(function*() {
    const profile = yield* ActiveProfile
    const api = yield* FabricApi
    /** Guild nodes that answered `404 not_found`; forgotten at restart. */
    const unsupported = yield* Ref.make<ReadonlySet<string>>(new Set())
    /** The union per (agent, guild), worked out once: the active profile's bindings do not change. */
    const unions = new Map<string, ReadonlyArray<Command>>()
    const commandsFor = (ref: GuildRef): ReadonlyArray<Command> => {
      const key = guildKey(ref)
      let commands = unions.get(key)
      if (commands === undefined) unions.set(key, commands = commandsOf(profile.bindings, ref))
      return commands
    }

    const connected = fnWhileTracing("CommandSync.connected")(Effect.fnUntraced(function*(ref: GuildRef) {
      const commands = commandsFor(ref)
      if (commands.length === 0 || (yield* Ref.get(unsupported)).has(ref.guildNodeId)) return
      yield* annotateSpan({ agent: ref.agentId, guild: ref.guildNodeId, commands: commands.length })
      const names = commands.map((c) => `/${c.name}`).join(", ")
      yield* api.putCommands(ref, commands).pipe(
        Effect.zipRight(
          Effect.logInfo(`Registered ${commands.length} slash command(s) of agent ${ref.agentId} in guild ${ref.guildNodeId}: ${names}.`)
        ),
        Effect.catchAll((error) =>
          routeMissing(error)
            ? Effect.zipRight(
              Ref.update(unsupported, (nodes) => new Set(nodes).add(ref.guildNodeId)),
              Effect.logInfo(
                `Guild node ${ref.guildNodeId} does not support slash commands (PUT /api/commands answered 404 not_found); ` +
                  `the commands of agent ${ref.agentId}'s bindings (${names}) are not registered there until the plugin restarts.`
              )
            )
            : Effect.logWarning(
              `Could not register the slash commands of agent ${ref.agentId} in guild ${ref.guildNodeId} (${names}): ` +
                `${error.message.replace(/\.$/, "")}. They are registered again at the next connect; if the node refused them, ` +
                `check the \`commands\` of the agent's binding files.`
            )
        )
      )
    }))

    return {
      /** Whether the agent's bindings in the guild declare any command: a connect without asks no fiber. */
      declares: (ref: GuildRef): boolean => commandsFor(ref).length > 0,
      /**
       * Registers the agent's commands in the guild, after a socket connected. Never fails:
       * what goes wrong is logged.
       */
      connected
    } as const
  }).pipe(Effect.annotateLogs({ service: "CommandSync" }))
}) {}
