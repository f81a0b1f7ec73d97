/**
 * The splitter of `send`: the cutting rules of host-protocol.md v1.1 on hand-made texts, and
 * properties over random Markdown (words, emoji, newlines, blank lines, fenced blocks).
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { type Chunk, chunkText, splitMessage } from "../../src/tools/Chunks.js"

const codePoints = (text: string) => Array.from(text).length
const texts = (chunks: ReadonlyArray<Chunk>) => chunks.map(chunkText)

/** The fence lines of a text, in order, as [marker, info]. */
const fenceLines = (text: string) => text.split("\n").filter((line) => /^ {0,3}`{3,}/.test(line))

/** True when every fence the text opens is closed again (by a line of only backticks). */
const balanced = (text: string) => {
  let open = false
  for (const line of text.split("\n")) {
    if (!open && /^ {0,3}`{3,}[^`]*$/.test(line)) open = true
    else if (open && /^ {0,3}`{3,}\s*$/.test(line)) open = false
  }
  return !open
}

describe("splitMessage", () => {
  it("keeps a text within the limit as one chunk, unchanged", () => {
    expect(texts(splitMessage("hello\n\nworld", 4000))).toEqual(["hello\n\nworld"])
    expect(splitMessage("", 4000)).toEqual([])
  })

  it("cuts at the last blank line before the limit, dropping the blank line", () => {
    const text = "a".repeat(10) + "\n\n" + "b".repeat(5) + "\nc c\n\n" + "d".repeat(10)
    expect(texts(splitMessage(text, 24))).toEqual(["a".repeat(10) + "\n\n" + "b".repeat(5) + "\nc c", "d".repeat(10)])
  })

  it("else at the last newline, else the last whitespace, else hard", () => {
    expect(texts(splitMessage("aaaa bbbb\ncccc dddd", 15))).toEqual(["aaaa bbbb", "cccc dddd"])
    expect(texts(splitMessage("aaaa bbbb cccc dddd", 12))).toEqual(["aaaa bbbb", "cccc dddd"])
    expect(texts(splitMessage("abcdefghij", 4))).toEqual(["abcd", "efgh", "ij"])
  })

  it("counts code points, never splitting an emoji", () => {
    const text = "😀".repeat(9)
    const chunks = texts(splitMessage(text, 4))
    expect(chunks).toEqual(["😀😀😀😀", "😀😀😀😀", "😀"])
  })

  it("closes a fence at the cut and reopens it with its info string", () => {
    const code = Array.from({ length: 6 }, (_, i) => `line ${i}`).join("\n")
    const text = "intro\n```ts\n" + code + "\n```\nafter"
    const chunks = texts(splitMessage(text, 30))
    expect(chunks[0]).toBe("intro\n```ts\nline 0\nline 1\n```")
    expect(chunks[1]!.startsWith("```ts\nline 2")).toBe(true)
    for (const chunk of chunks) {
      expect(codePoints(chunk)).toBeLessThanOrEqual(30)
      expect(balanced(chunk)).toBe(true)
    }
    expect(chunks.at(-1)!.endsWith("after")).toBe(true)
  })

  it("does not split a fence line: the cut moves before it", () => {
    const text = "x".repeat(30) + "\n```python\nprint(1)\n```"
    const chunks = texts(splitMessage(text, 36))
    expect(chunks[0]).toBe("x".repeat(30))
    expect(chunks[1]!.startsWith("```python\n")).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------
// Properties

const word = fc.oneof(
  fc.stringMatching(/^[a-z]{1,12}$/),
  fc.constantFrom("😀", "ß", "日本", "é", "👩‍💻"),
  fc.stringMatching(/^[a-z]{50,400}$/)
)
const separator = fc.constantFrom(" ", " ", "\n", "\n\n", "\t", "  \n", "\n \n")
const prose = fc.array(fc.tuple(word, separator), { maxLength: 200 }).map((parts) => parts.map(([w, s]) => w + s).join(""))
const fenced = fc.tuple(fc.constantFrom("", "ts", "python title=x", "json"), prose).map(
  ([info, body]) => "```" + info + "\n" + body.replace(/`/g, "") + "\n```\n"
)
const markdown = fc.array(fc.oneof(prose, fenced), { maxLength: 8 }).map((parts) => parts.join("\n"))
/** From 100: a fence line takes a few percent of a chunk, as with Fabric's 4000. */
const limit = fc.integer({ min: 100, max: 400 })

describe("splitMessage properties", () => {
  it.prop("each chunk is within the limit, and non-empty", [markdown, limit], ([text, max]) => {
    for (const chunk of texts(splitMessage(text, max))) {
      expect(codePoints(chunk)).toBeLessThanOrEqual(max)
      expect(chunk.length).toBeGreaterThan(0)
    }
  })

  it.prop("the bodies are the input in order; only whitespace is cut between them", [markdown, limit], ([text, max]) => {
    const cps = Array.from(text)
    const chunks = splitMessage(text, max)
    let cursor = 0
    for (const chunk of chunks) {
      expect(cps.slice(cursor, chunk.from).join("")).toMatch(/^\s*$/u)
      expect(chunk.body).toBe(cps.slice(chunk.from, chunk.to).join(""))
      expect(chunk.to).toBeGreaterThan(chunk.from)
      cursor = chunk.to
    }
    expect(cps.slice(cursor).join("")).toMatch(/^\s*$/u)
    // Rejoined without the fence lines the splitter added, and without the cut whitespace.
    const squeeze = (s: string) => s.replace(/\s+/gu, "")
    expect(squeeze(chunks.map((c) => c.body).join(""))).toBe(squeeze(text))
  })

  it.prop("a text whose fences are closed gives chunks whose fences are closed", [markdown, limit], ([text, max]) => {
    fc.pre(balanced(text))
    const chunks = splitMessage(text, max)
    for (const chunk of chunks) expect(balanced(chunkText(chunk))).toBe(true)
    // What is added is only fence lines: reopened with the info string they were opened with.
    for (const chunk of chunks) {
      if (chunk.reopen !== "") expect(fenceLines(text)).toContain(chunk.reopen.slice(0, -1))
      if (chunk.close !== "") expect(chunk.close).toMatch(/^\n`{3,}$/)
    }
  })
})
