#!/usr/bin/env node
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Exit } from "effect"
import { main } from "../main.js"

NodeRuntime.runMain(main, {
  // The pretty logger writes to stdout, which belongs to the protocol; HostLogger logs instead.
  disablePrettyLogger: true,
  // Exit explicitly once the graceful stop is done: a handle a library left open must not keep
  // the process alive past the host's budget. A stop by signal is a graceful stop: status 0.
  teardown: (exit) => process.exit(Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? 1 : 0)
})
