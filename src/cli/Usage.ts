/**
 * The usage of every command, and the answer to `--help` and `--version` before anything else
 * is loaded: an operator asking a command what it is should not wait for Effect, undici and
 * OpenTelemetry to load (2-3 s). This module imports nothing heavy; the bins import it first
 * and load the command itself only when it has work to do.
 */
import { VERSION } from "../version.js"

const PROFILE = "  --profile <dir>   the Plexum profile directory (default: $PLEXUM_PROFILE_ROOT, else ~/.plexum)"
const COMMON = "  --help, -h        print this help\n  --version         print the version"

export const Usage = {
  "plexum-fabric-channel-plugin": [
    "plexum-fabric-channel-plugin [--profile <dir>]",
    "",
    "The Plexum channel plugin: a Plexum gateway starts it and speaks JSON-RPC on its stdin and",
    "stdout (host-protocol.md). Run by hand it waits for a host on stdin.",
    "",
    PROFILE,
    COMMON
  ],
  "plexum-fabric-register": [
    "plexum-fabric-register --agent-id <id> --api-key <key> [--profile <dir>] [--disable] [--no-verify]",
    "plexum-fabric-register --list [--profile <dir>]",
    "",
    "Checks a Fabric API key by logging in to the center, then stores it for a Plexum agent in",
    "fabric-identities.json.",
    "",
    "  --agent-id <id>   the Plexum agent id",
    "  --api-key <key>   the agent's Fabric API key (never printed)",
    "  --disable         keep the key but give the agent no Fabric identity until registered again",
    "  --no-verify       write the key without logging in to the Fabric center first",
    "  --list            list the registered agents (never their keys) and exit",
    PROFILE,
    COMMON
  ],
  "plexum-fabric-bind": [
    "plexum-fabric-bind --name <channel> --agent-id <id> --guild <g_…> --channel <c_…> [--profile <dir>] [--no-verify]",
    "plexum-fabric-bind --list [--profile <dir>]",
    "plexum-fabric-bind --remove <channel> [--profile <dir>]",
    "",
    "Binds a Plexum channel to a Fabric channel: writes channels/<name>.json in the profile. The",
    "agent logs in first, and a guild it is not a member of is refused.",
    "",
    "  --name <channel>    the Plexum channel name (also the file name channels/<name>.json)",
    "  --agent-id <id>     the Plexum agent id",
    "  --guild <g_…>       the Fabric guild node id",
    "  --channel <c_…>     the Fabric channel id",
    "  --no-verify         write the binding without logging the agent in to check the guild",
    "  --list              list the bindings and exit",
    "  --remove <channel>  delete the binding of that channel name and exit",
    PROFILE,
    COMMON
  ],
  "plexum-fabric-doctor": [
    "plexum-fabric-doctor [--profile <dir>] [--json]",
    "",
    "Checks a Plexum profile against Fabric: config, identities, bindings, wake policies, logins,",
    "guilds, channels, sockets. Exit status 0 only when every check passed.",
    "",
    "  --json            print the report as JSON",
    PROFILE,
    COMMON
  ]
} as const satisfies Record<string, ReadonlyArray<string>>

export type CommandName = keyof typeof Usage

export const usageText = (name: CommandName): string => `usage: ${Usage[name].join("\n")}`

/**
 * The answer to a lone `--help`/`-h` or `--version` (stdout text), or undefined when the
 * command has to run. Any other combination goes to the command's own parser.
 */
export const quickAnswer = (name: CommandName, args: ReadonlyArray<string>): string | undefined =>
  args.length !== 1 ? undefined : args[0] === "--version" ? VERSION : args[0] === "--help" || args[0] === "-h" ? usageText(name) : undefined
