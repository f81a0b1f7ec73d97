#!/usr/bin/env node
import { Effect } from "effect"
import { possibleSecrets, withMaskedErrors } from "../cli/MaskedArgs.js"
import { registerCli, RegisterLive } from "../cli/register.js"
import { runOperator } from "./runOperator.js"

const args = process.argv.slice(2)
runOperator(
  "plexum-fabric-register",
  registerCli(process.argv).pipe(
    withMaskedErrors(possibleSecrets(args, ["--agent-id", "--profile"])),
    Effect.provide(RegisterLive)
  )
)
