#!/usr/bin/env node
import { Effect } from "effect"
import { bindCli, BindLive } from "../cli/bind.js"
import { runOperator } from "./runOperator.js"

runOperator("plexum-fabric-bind", bindCli(process.argv).pipe(Effect.provide(BindLive)))
