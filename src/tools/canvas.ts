/**
 * The canvas family: the shared document of a channel, versioned. A write names the version it
 * was based on, so two writers cannot silently overwrite each other.
 */
import { Effect, Option, Schema } from "effect"
import { FabricApi } from "../fabric/FabricApi.js"
import { Canvas } from "../fabric/FabricContract.js"
import type { FabricError } from "../fabric/FabricError.js"
import * as Args from "./Args.js"
import { orExplain } from "./FabricFailure.js"
import { about, channelTarget } from "./Target.js"
import { defineTool, json } from "./Tool.js"

export const getCanvas = defineTool({
  name: "get_canvas",
  description: "Read the canvas (the shared document) of a Fabric channel. " +
    "Returns JSON {channel_id, content, version, updated_at, updated_by}; pass `version` as base_version to update_canvas.",
  input: Schema.Struct(Args.ChannelTarget),
  run: (input) =>
    Effect.gen(function*() {
      const target = yield* channelTarget(input)
      return json(yield* (yield* FabricApi).getCanvas(target.guild, target.channelId).pipe(orExplain(about(target))))
    })
})

/** A 409 carries the current canvas: the agent learns the version to merge against. */
const conflictLine = (channelId: string, baseVersion: number) => (error: FabricError) =>
  Option.match(Schema.decodeUnknownOption(Canvas)(error.current), {
    onNone: () => `the canvas of ${channelId} changed since version ${baseVersion}; read it with get_canvas, merge your change, and retry with its version`,
    onSome: (current) =>
      `the canvas of ${channelId} changed since version ${baseVersion}: it is now version ${current.version}` +
      `${current.updated_by === null ? "" : ` (by ${current.updated_by} at ${current.updated_at})`}; ` +
      `read it with get_canvas, merge your change, and retry with base_version ${current.version}`
  })

export const updateCanvas = defineTool({
  name: "update_canvas",
  description: "Replace the canvas of a Fabric channel. base_version is the version you read (get_canvas); if someone " +
    "wrote since, nothing is written and the error names the current version to merge against.",
  input: Schema.Struct({
    ...Args.ChannelTarget,
    content: Schema.String.annotations({ description: "The whole new canvas content (Markdown)." }),
    base_version: Schema.Number.pipe(Schema.int(), Schema.nonNegative()).annotations({
      description: "The version this content is based on, from get_canvas."
    })
  }),
  run: (input) =>
    Effect.gen(function*() {
      const target = yield* channelTarget(input)
      const canvas = yield* (yield* FabricApi).putCanvas(target.guild, target.channelId, input.content, input.base_version).pipe(
        orExplain(about(target, { conflict: conflictLine(target.channelId, input.base_version) }))
      )
      return `the canvas of ${target.channelId} is now version ${canvas.version}`
    })
})

export const canvasTools = [getCanvas, updateCanvas] as const
