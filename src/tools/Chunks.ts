/**
 * How `send` splits a message longer than Fabric's limit (host-protocol.md, "Tools, v1.1"):
 * chunks of at most `limit` code points, cut at the last blank line before the limit, else the
 * last newline, else the last whitespace, else hard. A chunk that would end inside a ``` fenced
 * block closes the fence, and the next chunk reopens it with the same marker and info string.
 *
 * A plain function over code points, so the rules are tested without any I/O.
 */

/** One chunk: `reopen + body + close` is what is posted. */
export interface Chunk {
  /** The fence line that reopens a block the previous chunk closed, with its newline; or "". */
  readonly reopen: string
  /** A slice of the input: code points `from` (inclusive) to `to` (exclusive). */
  readonly body: string
  /** `"\n" + marker` when the body ends inside a fenced block; or "". */
  readonly close: string
  readonly from: number
  readonly to: number
}

export const chunkText = (chunk: Chunk): string => chunk.reopen + chunk.body + chunk.close

/** An open fence: the backtick run of its opening line and its info string. */
interface Fence {
  readonly marker: string
  readonly info: string
}

const reopenOf = (fence: Fence | undefined) => (fence === undefined ? "" : `${fence.marker}${fence.info}\n`)
const closeOf = (fence: Fence | undefined) => (fence === undefined ? "" : `\n${fence.marker}`)

const isSpace = (c: string | undefined) => c !== undefined && /^\s$/u.test(c)

const OPENING = /^ {0,3}(`{3,})([^`]*)$/
const CLOSING = /^ {0,3}(`{3,})\s*$/

/**
 * For every cut position k (0..n), the fence a chunk ending at k would end inside, if any.
 * A line counts once it is whole in the chunk (its newline may be cut away): a cut inside a
 * fence line is moved before it by `cutAt`, so a fence line is never split.
 */
const fenceMap = (cps: ReadonlyArray<string>, limit: number) => {
  const n = cps.length
  const openAt: Array<Fence | undefined> = new Array(n + 1).fill(undefined)
  /** Start of the fence line that contains k strictly inside it, for cut adjustment. */
  const fenceLineStart: Array<number> = new Array(n + 1).fill(-1)
  let open: Fence | undefined
  let start = 0
  while (start <= n) {
    let end = start
    while (end < n && cps[end] !== "\n") end++
    const line = cps.slice(start, end).join("")
    for (let k = start + 1; k <= end; k++) openAt[k] = open
    if (open === undefined) {
      const match = OPENING.exec(line)
      // A fence whose own line would not leave room in a chunk is not reopened: it stays text.
      if (match !== null && match[1]!.length * 2 + match[2]!.length + 2 < limit / 2) {
        open = { marker: match[1]!, info: match[2]!.trim() }
        for (let k = start + 1; k < end; k++) fenceLineStart[k] = start
      }
    } else {
      const match = CLOSING.exec(line)
      if (match !== null && match[1]!.length >= open.marker.length) {
        open = undefined
        for (let k = start + 1; k < end; k++) fenceLineStart[k] = start
      }
    }
    openAt[end] = open
    if (end < n) openAt[end + 1] = open
    start = end + 1
  }
  openAt[0] = undefined
  return { openAt, fenceLineStart }
}

interface Cut {
  /** The chunk's body ends here (exclusive). */
  readonly end: number
  /** The next chunk's body starts here: the separator between is dropped. */
  readonly next: number
}

/** The best cut of a body starting at `pos` with at most `budget` code points. */
const chooseCut = (cps: ReadonlyArray<string>, pos: number, budget: number): Cut => {
  const last = Math.min(pos + budget, cps.length)
  // A blank line: "\n", spaces or tabs, "\n"; the chunk ends before it and the blank lines go.
  for (let i = last; i > pos; i--) {
    if (cps[i] !== "\n") continue
    let j = i + 1
    while (cps[j] === " " || cps[j] === "\t") j++
    if (cps[j] === "\n") {
      while (cps[j + 1] === "\n") j++
      return { end: i, next: j + 1 }
    }
  }
  for (let i = last; i > pos; i--) if (cps[i] === "\n") return { end: i, next: i + 1 }
  for (let i = last; i > pos; i--) if (isSpace(cps[i])) return { end: i, next: i + 1 }
  return { end: last, next: last }
}

/**
 * Splits `text` into chunks of at most `limit` code points each (reopened and closed fence
 * lines included), in order. A text within the limit is one chunk, unchanged; an empty text
 * gives no chunk.
 */
export const splitMessage = (text: string, limit: number): ReadonlyArray<Chunk> => {
  const cps = Array.from(text)
  const n = cps.length
  if (n === 0) return []
  if (n <= limit) return [{ reopen: "", body: text, close: "", from: 0, to: n }]
  const { fenceLineStart, openAt } = fenceMap(cps, limit)
  const chunks: Array<Chunk> = []
  const slice = (from: number, to: number) => cps.slice(from, to).join("")
  let pos = 0
  while (pos < n) {
    const reopen = reopenOf(openAt[pos])
    const room = limit - Array.from(reopen).length
    if (n - pos <= room) {
      chunks.push({ reopen, body: slice(pos, n), close: "", from: pos, to: n })
      break
    }
    let budget = room
    let cut: Cut
    let close: string
    for (;;) {
      cut = chooseCut(cps, pos, budget)
      // Never split a fence line: cut before it, at its preceding newline, when that leaves a body.
      const lineStart = fenceLineStart[cut.end]!
      if (lineStart > pos + 1) cut = { end: lineStart - 1, next: lineStart }
      close = closeOf(openAt[cut.end])
      const size = cut.end - pos + Array.from(close).length
      if (size <= room) break
      budget = Math.min(budget - 1, room - Array.from(close).length)
    }
    chunks.push({ reopen, body: slice(pos, cut.end), close, from: pos, to: cut.end })
    pos = cut.next
    // What is left after a cut may be only whitespace: it is part of the cut, not a chunk.
    let rest = pos
    while (rest < n && isSpace(cps[rest])) rest++
    if (rest === n) break
  }
  return chunks
}
