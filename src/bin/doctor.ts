#!/usr/bin/env node
import { Effect } from "effect"
import { CommandFailed } from "../cli/CommandFailed.js"
import { cli, DoctorLive } from "../cli/doctor.js"
import { runOperator } from "./runOperator.js"

/** A failed check was explained by the report; the status line on stderr just sums it up. */
runOperator(
  "plexum-fabric-doctor",
  cli(process.argv).pipe(
    Effect.catchTag("DoctorFailed", (failed) => new CommandFailed({ message: failed.message })),
    Effect.provide(DoctorLive)
  )
)
