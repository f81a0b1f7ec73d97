import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { type Burst, catchUpBursts, Coalescer, MAX_WINDOWS, mergeBurst } from "../../src/inbound/Coalescer.js"

interface M {
  readonly id: string
  readonly author_id: string
  readonly content: string
  readonly created_at: string
  readonly command?: { readonly name: string; readonly args: string } | null
  readonly attachments?: ReadonlyArray<{ id: string; name: string; mime: string; size: number; url: string }>
}

let n = 0
const msg = (author: string, extra: Partial<M> = {}): M => ({
  id: `m${++n}`,
  author_id: author,
  content: `text ${n}`,
  created_at: new Date(0).toISOString(),
  ...extra
})
const ids = (bursts: ReadonlyArray<Burst<M>>) => bursts.map((b) => b.map((m) => m.id))

describe("Coalescer", () => {
  it("coalesce_ms 0: every message alone, at once", () => {
    const c = new Coalescer<M>(0, 20)
    const a = msg("u_a")
    expect(ids(c.offer(a, 0))).toEqual([[a.id]])
    expect(c.nextDeadline()).toBeUndefined()
  })

  it("a burst is released once the author has been quiet a window", () => {
    const c = new Coalescer<M>(1000, 20)
    const [a, b, d] = [msg("u_a"), msg("u_a"), msg("u_a")]
    expect(c.offer(a, 0)).toEqual([])
    expect(c.offer(b, 999)).toEqual([])
    expect(c.offer(d, 1500)).toEqual([])
    expect(c.nextDeadline()).toBe(2500)
    expect(c.due(2499)).toEqual([])
    expect(ids(c.due(2500))).toEqual([[a.id, b.id, d.id]])
    expect(c.nextDeadline()).toBeUndefined()
  })

  it("a message a full window after the previous one starts a new burst", () => {
    const c = new Coalescer<M>(1000, 20)
    const [a, b] = [msg("u_a"), msg("u_a")]
    c.offer(a, 0)
    // the timer is late: the old burst goes first, b waits for its own window
    expect(ids(c.offer(b, 1000))).toEqual([[a.id]])
    expect(ids(c.due(2000))).toEqual([[b.id]])
  })

  it("a burst restarted after its deadline goes to the end of the start order", () => {
    const c = new Coalescer<M>(1000, 20)
    const [a1, b1, a2] = [msg("u_a"), msg("u_b"), msg("u_a")]
    c.offer(a1, 0)
    c.offer(b1, 900)
    expect(ids(c.offer(a2, 1200))).toEqual([[a1.id]])
    expect(ids(c.flushAll())).toEqual([[b1.id], [a2.id]])
  })

  it("a burst is released at the latest 4 windows after its first message", () => {
    const c = new Coalescer<M>(1000, 100)
    const burst: Array<M> = []
    for (let t = 0; t < MAX_WINDOWS * 1000; t += 900) {
      const m = msg("u_a")
      burst.push(m)
      expect(c.offer(m, t)).toEqual([])
    }
    expect(c.nextDeadline()).toBe(4000)
    expect(ids(c.due(4000))).toEqual([burst.map((m) => m.id)])
  })

  it("a burst that reaches coalesce_max_messages is released at once; the next message starts a new one", () => {
    const c = new Coalescer<M>(1000, 3)
    const [a, b, d, e] = [msg("u_a"), msg("u_a"), msg("u_a"), msg("u_a")]
    c.offer(a, 0)
    c.offer(b, 10)
    expect(ids(c.offer(d, 20))).toEqual([[a.id, b.id, d.id]])
    expect(c.offer(e, 30)).toEqual([])
    expect(ids(c.flushAll())).toEqual([[e.id]])
  })

  it("coalesce_max_messages 1: every message alone", () => {
    const c = new Coalescer<M>(1000, 1)
    const [a, b] = [msg("u_a"), msg("u_a")]
    expect(ids(c.offer(a, 0))).toEqual([[a.id]])
    expect(ids(c.offer(b, 1))).toEqual([[b.id]])
    expect(c.size).toBe(0)
  })

  it("a command is never merged: the author's pending burst goes first, then the command alone", () => {
    const c = new Coalescer<M>(1000, 20)
    const [a, b] = [msg("u_a"), msg("u_a")]
    const cmd = msg("u_a", { command: { name: "deploy", args: "" } })
    const other = msg("u_b")
    c.offer(a, 0)
    c.offer(other, 5)
    c.offer(b, 10)
    expect(ids(c.offer(cmd, 20))).toEqual([[a.id, b.id], [cmd.id]])
    // another author's burst is untouched
    expect(ids(c.flushAll())).toEqual([[other.id]])
    const lone = msg("u_c", { command: { name: "x", args: "" } })
    expect(ids(c.offer(lone, 30))).toEqual([[lone.id]])
  })

  it("authors are coalesced separately; the earliest deadline is armed; due releases in start order", () => {
    const c = new Coalescer<M>(1000, 20)
    const [a1, b1, a2] = [msg("u_a"), msg("u_b"), msg("u_a")]
    c.offer(a1, 0)
    c.offer(b1, 100)
    c.offer(a2, 500)
    expect(c.nextDeadline()).toBe(1100)
    expect(ids(c.due(1100))).toEqual([[b1.id]])
    expect(c.nextDeadline()).toBe(1500)
    expect(ids(c.due(5000))).toEqual([[a1.id, a2.id]])
  })

  // Property: whatever the arrivals, every message is carried exactly once, each author's
  // order is kept, and every burst respects its bounds.
  it("property: exactly once, per-author order, bounds", () => {
    const arrival = FastCheck.record({
      author: FastCheck.constantFrom("u_a", "u_b", "u_c"),
      gap: FastCheck.integer({ min: 0, max: 1500 }),
      command: FastCheck.boolean()
    })
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(arrival, { maxLength: 200 }),
        FastCheck.integer({ min: 0, max: 1000 }),
        FastCheck.integer({ min: 1, max: 8 }),
        (arrivals, windowMs, max) => {
          const c = new Coalescer<M & { at: number }>(windowMs, max)
          const released: Array<{ burst: Burst<M & { at: number }>; at: number }> = []
          const offered: Array<M & { at: number }> = []
          let now = 0
          for (const { author, command, gap } of arrivals) {
            // the channel's timer fires at each deadline before the next arrival
            const until = now + gap
            for (let deadline = c.nextDeadline(); deadline !== undefined && deadline <= until; deadline = c.nextDeadline()) {
              for (const burst of c.due(deadline)) released.push({ burst, at: deadline })
            }
            now = until
            const m = { ...msg(author, command && gap % 5 === 0 ? { command: { name: "c", args: "" } } : {}), at: now }
            offered.push(m)
            for (const burst of c.offer(m, now)) released.push({ burst, at: now })
          }
          for (const burst of c.flushAll()) released.push({ burst, at: Number.POSITIVE_INFINITY })

          const carried = released.flatMap((r) => r.burst.map((m) => m.id))
          expect(carried.length).toBe(offered.length)
          expect(new Set(carried)).toEqual(new Set(offered.map((m) => m.id)))
          for (const author of ["u_a", "u_b", "u_c"]) {
            expect(released.flatMap((r) => r.burst).filter((m) => m.author_id === author).map((m) => m.id)).toEqual(
              offered.filter((m) => m.author_id === author).map((m) => m.id)
            )
          }
          for (const { at, burst } of released) {
            expect(burst.length).toBeGreaterThan(0)
            expect(burst.length).toBeLessThanOrEqual(windowMs === 0 ? 1 : max)
            expect(new Set(burst.map((m) => m.author_id)).size).toBe(1)
            if (burst.length > 1) {
              expect(burst.every((m) => m.command == null)).toBe(true)
              for (let i = 1; i < burst.length; i++) expect(burst[i]!.at - burst[i - 1]!.at).toBeLessThan(windowMs)
              expect(burst[burst.length - 1]!.at - burst[0]!.at).toBeLessThan(MAX_WINDOWS * windowMs)
            }
            // released no later than its deadline (bursts flushed at the end excepted)
            if (Number.isFinite(at)) {
              const last = burst[burst.length - 1]!.at
              expect(at).toBeLessThanOrEqual(Math.max(last, Math.min(last + windowMs, burst[0]!.at + MAX_WINDOWS * windowMs)))
            }
          }
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("catchUpBursts", () => {
  const at = (author: string, seconds: number, extra: Partial<M> = {}) =>
    msg(author, { created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString(), ...extra })

  it("groups consecutive messages of one author by created_at, by the live rule", () => {
    const run = [at("u_a", 0), at("u_a", 1), at("u_a", 2), at("u_b", 2), at("u_a", 3), at("u_a", 10)]
    expect(ids(catchUpBursts(run, 2000, 20))).toEqual([[run[0]!.id, run[1]!.id, run[2]!.id], [run[3]!.id], [run[4]!.id], [
      run[5]!.id
    ]])
  })

  it("respects the 4-window bound, the size bound, and never merges a command", () => {
    const slow = [0, 1, 2, 3, 4, 5].map((s) => at("u_a", s))
    // window 1.2 s: the 4-window bound (4.8 s) cuts after the fifth message
    expect(catchUpBursts(slow, 1200, 20).map((b) => b.length)).toEqual([5, 1])
    expect(catchUpBursts(slow, 1200, 3).map((b) => b.length)).toEqual([3, 3])
    const withCommand = [at("u_a", 0), at("u_a", 0, { command: { name: "x", args: "" } }), at("u_a", 0)]
    expect(catchUpBursts(withCommand, 1000, 20).map((b) => b.length)).toEqual([1, 1, 1])
  })

  it("window 0 or an unreadable time: each message alone", () => {
    const run = [at("u_a", 0), at("u_a", 0)]
    expect(catchUpBursts(run, 0, 20).map((b) => b.length)).toEqual([1, 1])
    expect(catchUpBursts([msg("u_a", { created_at: "garbage" }), at("u_a", 0)], 1000, 20).map((b) => b.length)).toEqual([1, 1])
  })

  it("property: every message once, in order, bounds kept", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(
          FastCheck.record({ author: FastCheck.constantFrom("u_a", "u_b"), gapMs: FastCheck.integer({ min: 0, max: 3000 }) }),
          { maxLength: 150 }
        ),
        FastCheck.integer({ min: 0, max: 2000 }),
        FastCheck.integer({ min: 1, max: 6 }),
        (arrivals, windowMs, max) => {
          let t = Date.UTC(2026, 0, 1)
          const run = arrivals.map(({ author, gapMs }) => msg(author, { created_at: new Date((t += gapMs)).toISOString() }))
          const bursts = catchUpBursts(run, windowMs, max)
          expect(bursts.flat().map((m) => m.id)).toEqual(run.map((m) => m.id))
          for (const burst of bursts) {
            expect(burst.length).toBeLessThanOrEqual(windowMs === 0 ? 1 : max)
            expect(new Set(burst.map((m) => m.author_id)).size).toBe(1)
            const time = (m: M) => Date.parse(m.created_at)
            for (let i = 1; i < burst.length; i++) expect(time(burst[i]!) - time(burst[i - 1]!)).toBeLessThan(windowMs)
            expect(time(burst[burst.length - 1]!) - time(burst[0]!)).toBeLessThan(Math.max(1, MAX_WINDOWS * windowMs))
          }
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("mergeBurst", () => {
  const file = (id: string) => ({ id, name: `${id}.txt`, mime: "text/plain", size: 1, url: `http://node/${id}` })

  it("joins contents oldest first, keeps every attachment in order, lists the earlier ids", () => {
    const burst = [msg("u_a", { content: "hey", attachments: [file("f1")] }), msg("u_a", { content: "quick q" }), msg("u_a", {
      content: "can you…",
      attachments: [file("f2"), file("f3")]
    })]
    const merged = mergeBurst(burst)
    expect(merged.message).toBe("hey\nquick q\ncan you…")
    expect(merged.newest).toBe(burst[2])
    expect(merged.attachments?.map((a) => a.id)).toEqual(["f1", "f2", "f3"])
    expect(merged.coalesced_message_ids).toEqual([burst[0]!.id, burst[1]!.id])
  })

  it("a single message is itself: no coalesced ids, attachments only when it has some", () => {
    const lone = msg("u_a", { content: "hi" })
    expect(mergeBurst([lone])).toEqual({ newest: lone, message: "hi" })
    const withFile = msg("u_a", { content: "see", attachments: [file("f")] })
    expect(mergeBurst([withFile])).toEqual({ newest: withFile, message: "see", attachments: withFile.attachments })
    expect("attachments" in mergeBurst([msg("u_a"), msg("u_a")])).toBe(false)
  })
})
