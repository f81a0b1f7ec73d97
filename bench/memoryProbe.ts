/**
 * Loaded with `node --expose-gc --import <this file>` into every measured process (the plugin
 * and the raw client alike): on SIGUSR2 it collects garbage, then writes one
 * `bench-memory {…process.memoryUsage()}` line to stderr. The heap is thus the live heap,
 * not whatever garbage the last collection left behind. It touches neither stdout nor the
 * program's own work.
 */
declare const gc: (() => void) | undefined

process.on("SIGUSR2", () => {
  if (typeof gc === "function") gc()
  process.stderr.write(`bench-memory ${JSON.stringify(process.memoryUsage())}\n`)
})
