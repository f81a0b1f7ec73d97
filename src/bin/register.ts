#!/usr/bin/env node
import { Effect } from "effect"
import { registerCli, RegisterLive } from "../cli/register.js"
import { runOperator } from "./runOperator.js"

runOperator("plexum-fabric-register", registerCli(process.argv).pipe(Effect.provide(RegisterLive)))
