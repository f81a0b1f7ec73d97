/**
 * When this plugin process started, in epoch milliseconds: the "new since start" instant of a
 * first run. A message Fabric stamped after it was posted while the plugin was already running
 * (between spawn and the host's `initialize`, say) and is delivered; history before it is not.
 * Taking the instant at `initialize`, or when catch-up starts, would lose what was posted in
 * between.
 *
 * `performance.timeOrigin` is when Node started this process. Tests provide their own instant.
 */
import { Context } from "effect"

export class ProcessStart extends Context.Reference<ProcessStart>()("plexum-fabric/ProcessStart", {
  defaultValue: (): number => Math.floor(performance.timeOrigin)
}) {}
