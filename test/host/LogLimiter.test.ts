import { describe, expect, it } from "@effect/vitest"
import { LOG_BURST, logKind, makeLogLimiter, MAX_KINDS, summaryLine } from "../../src/host/LogLimiter.js"

describe("LogLimiter", () => {
  it("lets the first lines of a kind through, counts the rest, and summarises them when the interval ends", () => {
    const limiter = makeLogLimiter(LOG_BURST, 10_000)
    const kind = logKind("warning", "Pipeline", "Message m_1 in channel c_1 was not delivered")
    expect(logKind("warning", "Pipeline", "Message m_77 in channel c_9 was not delivered")).toBe(kind)
    const admitted = Array.from({ length: 10_000 }, (_, i) => limiter.admit(kind, "warning", `Message m_${i} …`, i / 2))
    expect(admitted.filter(Boolean)).toHaveLength(LOG_BURST)
    expect(limiter.expire(9_999)).toEqual([])
    const [summary] = limiter.expire(10_000)
    expect(summary).toEqual({ level: "warning", sample: "Message m_0 …", suppressed: 10_000 - LOG_BURST, intervalMs: 10_000 })
    expect(summaryLine(summary!)).toBe("9995 more log line(s) like this one in the last 10s were left out: Message m_0 …")
    // A new interval starts afresh.
    expect(limiter.admit(kind, "warning", "again", 10_001)).toBe(true)
  })

  it("bounds lines that all differ: past MAX_KINDS kinds, they share one", () => {
    const limiter = makeLogLimiter(LOG_BURST, 10_000)
    const passed = Array.from({ length: 10_000 }, (_, i) => {
      const words = i.toString(2).replace(/0/g, "a ").replace(/1/g, "b ")
      return limiter.admit(logKind("warning", undefined, `junk ${words}`), "warning", "junk", 0)
    }).filter(Boolean).length
    expect(passed).toBeLessThanOrEqual(MAX_KINDS * LOG_BURST + LOG_BURST)
    expect(limiter.expire(10_000).reduce((n, s) => n + s.suppressed, 0)).toBe(10_000 - passed)
  })
})
