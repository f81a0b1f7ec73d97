/**
 * How an operator bin starts: a lone `--help` or `--version` is answered from Usage at once;
 * anything else loads the command and the runtime (seconds of module loading) and runs it.
 */
import type { ValidationError } from "@effect/cli"
import type { NodeContext } from "@effect/platform-node"
import type { Effect } from "effect"
import type { CommandFailed } from "../cli/CommandFailed.js"
import { type CommandName, quickAnswer } from "../cli/Usage.js"
import type { FabricTransport } from "../fabric/FabricTransport.js"

export type OperatorProgram = (
  argv: ReadonlyArray<string>
) => Effect.Effect<void, CommandFailed | ValidationError.ValidationError, NodeContext.NodeContext | FabricTransport>

export const startOperator = async (name: CommandName, load: () => Promise<OperatorProgram>): Promise<void> => {
  const answer = quickAnswer(name, process.argv.slice(2))
  if (answer !== undefined) {
    process.stdout.write(`${answer}\n`)
    return
  }
  const [program, { runOperator }] = await Promise.all([load(), import("./runOperator.js")])
  runOperator(name, program(process.argv))
}
