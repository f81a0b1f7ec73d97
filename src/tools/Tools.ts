/**
 * The agent-facing tools: the static catalog (`tools/list` and the manifest answer it before
 * any profile is loaded) and the service that runs a call with the activated plugin's services.
 *
 * A call never fails for the tool's own reasons: bad arguments, an unbound channel, a Fabric
 * error and even a defect become a result with `isError` and one line. Only an unknown tool
 * name fails (the host answers it with -32602).
 */
import type { FileSystem, Path } from "@effect/platform"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Cause, Clock, Duration, Effect, Option, Redacted } from "effect"
import { FabricApi } from "../fabric/FabricApi.js"
import { CallDeadline } from "../fabric/FabricHttp.js"
import type { Typing } from "../presence/Typing.js"
import { type ContentBlock, type ToolInfo, type ToolResult, UnknownTool } from "../host/HostProtocol.js"
import { ActiveProfile } from "../profile/ProfileSchema.js"
import { Redactor } from "../secrets/Redactor.js"
import { annotateSpan, Attr, toolSpan } from "../telemetry/Spans.js"
import { attachmentTools } from "./attachments.js"
import { canvasTools } from "./canvas.js"
import { channelTools } from "./channels.js"
import { commandTools } from "./commands.js"
import { Membership } from "./Membership.js"
import { presenceTools } from "./presence.js"
import { readAttachmentTools } from "./readAttachment.js"
import { sendTools } from "./send.js"
import { subDiscussionTools } from "./subDiscussions.js"
import { fail, type Tool, type ToolOutput } from "./Tool.js"

/** Every tool, `send` first: it is the outbound tool of every channel. */
export const allTools: ReadonlyArray<Tool> = [
  ...sendTools,
  ...attachmentTools,
  ...readAttachmentTools,
  ...channelTools,
  ...canvasTools,
  ...subDiscussionTools,
  ...presenceTools,
  ...commandTools
]

export const toolCatalog: ReadonlyArray<ToolInfo> = allTools.map((tool) => tool.info)

const byName: ReadonlyMap<string, Tool> = new Map(allTools.map((tool) => [tool.info.name, tool]))

const success = (output: ToolOutput): ToolResult =>
  typeof output === "string" ? { content: [{ type: "text", text: output }] } : { content: output.content }
const failure = (text: string): ToolResult => ({ content: [{ type: "text", text }], isError: true })

export class Tools extends Effect.Service<Tools>()("plexum-fabric/Tools", {
  effect: Effect.gen(function*() {
    const context = yield* Effect.context<FabricApi | ActiveProfile | Membership | Typing | FileSystem.FileSystem | Path.Path>()
    const profile = yield* ActiveProfile
    /**
     * No text is built from a secret, but Fabric's error messages are quoted, and a key or token
     * Fabric echoes must not reach the agent (the host writer redacts again; this keeps the
     * span and the log line clean too).
     */
    const redactor = yield* Redactor
    for (const identity of profile.identities.values()) redactor.register(Redacted.value(identity.apiKey))
    const scrub = redactor.redact

    const deadline = Duration.seconds(profile.config.tool_call_timeout_seconds)
    /** The overall bound of a call: every request, retry and wait inside it ends by then. */
    const withinDeadline = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        effect.pipe(
          Effect.provideService(CallDeadline, Option.some(now + Duration.toMillis(deadline))),
          Effect.timeoutFail({
            duration: deadline,
            onTimeout: () =>
              fail(`${name} did not finish within ${Duration.format(deadline)} (Fabric is slow or not answering); ` +
                `try again later. The operator sets this bound as tool_call_timeout_seconds`)
          })
        ))

    const scrubBlock = (block: ContentBlock): ContentBlock => block.type === "text" ? { ...block, text: scrub(block.text) } : block

    const run = (tool: Tool, args: unknown) =>
      withinDeadline(tool.info.name, tool.run(args)).pipe(
        Effect.map(success),
        Effect.catchTag("ToolFailure", (error) => Effect.succeed(failure(error.message))),
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause)
            // The rendered cause, not the cause itself: a defect can carry a request object,
            // and only text that went through `scrub` leaves this function.
            : Effect.logError(`tool ${tool.info.name} failed unexpectedly: ${scrub(Cause.pretty(cause))}`).pipe(
              Effect.as(failure(`tool ${tool.info.name} failed unexpectedly; the plugin log has the details`))
            )
        ),
        Effect.map((result) => ({ ...result, content: result.content.map(scrubBlock) })),
        Effect.tap((result) => annotateSpan({ [Attr.outcome]: result.isError ? "error" : "ok" })),
        Effect.withSpan(toolSpan(tool.info.name), { attributes: { [Attr.tool]: tool.info.name } }),
        Effect.provide(context)
      )

    const call = Effect.fn("Tools.call")(function*(name: string, args: unknown) {
      const tool = byName.get(name)
      if (tool === undefined) return yield* new UnknownTool({ name })
      return yield* run(tool, args)
    })

    return { list: toolCatalog, call }
  }),
  // send_file reads local files; the plugin only ever runs on Node, so the tools bring the
  // Node file system along instead of widening what the activated plugin must be given.
  dependencies: [Membership.Default, NodeContext.layer]
}) {}
