/**
 * Reading an open file up to a bound: a file may be longer than its `stat` said (it grew, or it
 * is a kernel file that claims 0 bytes), and nothing the plugin reads may fill its memory.
 */
import type { FileSystem } from "@effect/platform"
import { Effect, Option } from "effect"

const CHUNK = 64 * 1024

/**
 * The bytes of `handle` from its position to the end, or, once more than `max` bytes have come,
 * the first `max + 1` of them (so that the caller sees the file is too large).
 */
export const readAtMost = (handle: FileSystem.File, max: number) =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    let total = 0
    while (total <= max) {
      const chunk = yield* handle.readAlloc(Math.min(CHUNK, max + 1 - total))
      if (Option.isNone(chunk)) break
      chunks.push(chunk.value)
      total += chunk.value.length
    }
    const bytes = new Uint8Array(total)
    let offset = 0
    for (const chunk of chunks) {
      bytes.set(chunk, offset)
      offset += chunk.length
    }
    return bytes
  })
