/**
 * What an agent-facing tool is: a name, a description, an input Schema (its JSON Schema is the
 * `inputSchema` of `tools/list`) and a handler. The catalog entry is computed when the module
 * loads, so it needs no service; the handler runs later, with the services of the activated
 * plugin (`ToolRequirements`).
 */
import type { FileSystem, Path } from "@effect/platform"
import { Effect, JSONSchema, ParseResult, Schema } from "effect"
import type { FabricApi } from "../fabric/FabricApi.js"
import type { Typing } from "../presence/Typing.js"
import type { ContentBlock, ToolInfo } from "../host/HostProtocol.js"
import type { ActiveProfile } from "../profile/ProfileSchema.js"
import type { Membership } from "./Membership.js"

/** A tool that ran but failed: becomes `{"isError": true}` with this one line. */
export class ToolFailure extends Schema.TaggedError<ToolFailure>()("ToolFailure", {
  message: Schema.String
}) {}

/** Everything a tool handler may use. */
export type ToolRequirements = FabricApi | ActiveProfile | Membership | Typing | FileSystem.FileSystem | Path.Path

/** What a handler answers: one line of text, or content blocks. */
export type ToolOutput = string | { readonly content: ReadonlyArray<ContentBlock> }

export interface Tool {
  readonly info: ToolInfo
  /** Decodes the raw `arguments`, then runs the handler. */
  readonly run: (args: unknown) => Effect.Effect<ToolOutput, ToolFailure, ToolRequirements>
}

/** Result texts are one line: an agent (and a log) reads them as a single statement. */
export const oneLine = (text: string): string => text.replace(/\s*[\r\n]+\s*/g, " ").trim()

export const fail = (message: string) => new ToolFailure({ message: oneLine(message) })

/**
 * The JSON Schema of a tool's input. Effect adds a generated `title` to every refinement and a
 * `$schema` header; neither helps a model fill in arguments, so they are left out.
 */
const tidy = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(tidy)
  if (value === null || typeof value !== "object") return value
  return Object.fromEntries(
    Object.entries(value).filter(([key]) => key !== "title" && key !== "$schema").map(([key, inner]) => [key, tidy(inner)])
  )
}

export const inputJsonSchema = <A, I>(schema: Schema.Schema<A, I>): unknown => tidy(JSONSchema.make(schema))

const pathOf = (path: ReadonlyArray<PropertyKey>) => path.map(String).join(".")

/**
 * One line for every problem in the arguments, grouped by field. A literal union reports one
 * issue per member; they are merged into "expected a or b".
 */
export const describeIssues = (issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>): string => {
  const byField = new Map<string, Array<ParseResult.ArrayFormatterIssue>>()
  for (const issue of issues) {
    const field = pathOf(issue.path)
    byField.set(field, [...(byField.get(field) ?? []), issue])
  }
  return [...byField.entries()].map(([field, found]) => {
    if (field === "") return "the arguments must be a JSON object"
    const expected = found.map((issue) => /^Expected (.+), actual (.+)$/s.exec(issue.message))
    if (found.length > 1 && expected.every((match) => match !== null)) {
      return `${field}: expected ${expected.map((match) => match![1]).join(" or ")}, actual ${expected[0]![2]}`
    }
    const first = found[0]!
    if (first._tag === "Unexpected") return `${field} is not an argument of this tool`
    if (first._tag === "Missing") return `${field} is missing`
    return `${field}: ${first.message}`
  }).join("; ")
}

const invalidArguments = (name: string, error: ParseResult.ParseError) =>
  fail(`invalid arguments for ${name}: ${describeIssues(ParseResult.ArrayFormatter.formatErrorSync(error))}; see the tool's inputSchema`)

export const defineTool = <A, I>(spec: {
  readonly name: string
  readonly description: string
  readonly input: Schema.Schema<A, I>
  readonly run: (input: A) => Effect.Effect<ToolOutput, ToolFailure, ToolRequirements>
}): Tool => {
  // A misspelt optional argument must not be silently ignored: the schema also says
  // `additionalProperties: false`.
  const decode = Schema.decodeUnknown(spec.input, { errors: "all", onExcessProperty: "error" })
  return {
    info: { name: spec.name, description: spec.description, inputSchema: inputJsonSchema(spec.input) },
    run: (args) =>
      decode(args).pipe(
        Effect.mapError((error) => invalidArguments(spec.name, error)),
        Effect.flatMap(spec.run)
      )
  }
}

/** Data results are compact JSON: one line, the Fabric shapes of fabric-api.md. */
export const json = (value: unknown): string => JSON.stringify(value)
