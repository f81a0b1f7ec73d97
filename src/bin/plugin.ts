#!/usr/bin/env node
/**
 * The plugin's entry. `--help`, `--version` and a usage error are answered without loading the
 * plugin; stdout is the JSON-RPC writer's alone once it runs, so the help goes there only when
 * asked for, and everything else goes to stderr.
 */
import { parsePluginArgs } from "../cli/PluginArgs.js"
import { quickAnswer, usageText } from "../cli/Usage.js"

const NAME = "plexum-fabric-channel-plugin"
const args = process.argv.slice(2)
const answer = quickAnswer(NAME, args)
const parsed = parsePluginArgs(args)

if (answer !== undefined) {
  process.stdout.write(`${answer}\n`)
} else if (parsed._tag === "Invalid") {
  process.stderr.write(`${NAME}: ${parsed.message}\n\n${usageText(NAME)}\n`)
  process.exitCode = 2
} else {
  const { runPlugin } = await import("../main.js")
  runPlugin(parsed.profile)
}
