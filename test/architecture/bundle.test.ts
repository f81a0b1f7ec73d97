/**
 * The plugin's bundle (`dist/main.js`, made by `npm run build`, which `npm test` runs first)
 * is pure ASCII. V8 keeps a script's source in the heap for as long as the process runs, at
 * one byte per character only when every character fits in Latin-1: one comment with a "→"
 * doubled it, 6.6 MB of heap that the old generation's limit then multiplied (the build drops
 * comments for that reason; docs/performance.md, eleventh round).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const BUNDLE = path.resolve(import.meta.dirname, "../../dist/main.js")

describe("the plugin's bundle", () => {
  it("is pure ASCII, so V8 holds its source at one byte per character", () => {
    expect(fs.existsSync(BUNDLE), `${BUNDLE} is missing: run npm run build first`).toBe(true)
    const bytes = fs.readFileSync(BUNDLE)
    const offending = bytes.findIndex((byte) => byte > 0x7f)
    const context = offending < 0 ? "" : bytes.subarray(Math.max(0, offending - 40), offending + 40).toString("utf8")
    expect(context, "the first non-ASCII character of the bundle, in context").toBe("")
  })
})
