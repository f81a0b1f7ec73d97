/**
 * @effect/cli echoes a stray argument in its usage error ("Received unknown argument: '…'").
 * When an operator forgets `--api-key` before the key, that argument is the key: every
 * argument that is not an option name or the value of a known harmless option is masked in
 * what the command prints on stderr.
 */
import { Effect } from "effect"

const MASK = "[redacted]"

export const possibleSecrets = (argv: ReadonlyArray<string>, harmlessOptions: ReadonlyArray<string>): ReadonlyArray<string> =>
  argv.filter((arg, i) => !arg.startsWith("-") && !harmlessOptions.includes(argv[i - 1] ?? "") && arg.length >= 4)

const mask = (secrets: ReadonlyArray<string>) => (value: unknown) =>
  typeof value === "string" ? secrets.reduce((text, secret) => text.split(secret).join(MASK), value) : value

/** Runs `self` with a Console whose error output never shows one of `secrets`. */
export const withMaskedErrors = (secrets: ReadonlyArray<string>) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.console, (console) =>
    Effect.withConsole(self, {
      ...console,
      error: (...args: ReadonlyArray<unknown>) => console.error(...args.map(mask(secrets)))
    }))
