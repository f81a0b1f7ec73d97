/**
 * The plugin's own arguments: `[--profile <dir>]` (or `--profile=<dir>`). `--help` and
 * `--version` are answered by Usage.quickAnswer before this runs. Pure: the bin decides.
 */
export type PluginArgs =
  | { readonly _tag: "Run"; readonly profile: string | undefined }
  | { readonly _tag: "Invalid"; readonly message: string }

const invalid = (message: string): PluginArgs => ({ _tag: "Invalid", message })

export const parsePluginArgs = (args: ReadonlyArray<string>): PluginArgs => {
  let profile: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const inline = arg.startsWith("--profile=") ? arg.slice("--profile=".length) : undefined
    if (arg !== "--profile" && inline === undefined) return invalid(`unknown argument "${arg}"`)
    if (profile !== undefined) return invalid("--profile is given twice")
    const value = inline ?? args[++i]
    if (value === undefined || value.trim() === "" || (inline === undefined && value.startsWith("--"))) {
      return invalid("--profile needs a directory: --profile <dir>")
    }
    profile = value
  }
  return { _tag: "Run", profile }
}
