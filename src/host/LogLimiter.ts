/**
 * Repeated log lines of one kind are summarised: the first BURST of a kind per INTERVAL pass,
 * the rest are counted, and when the interval ends one line says how many were left out. A
 * faulty or hostile node (60,000 junk events) then costs the host a few lines, not 55,000.
 *
 * Pure state over plain numbers (the caller passes the time), so that it is tested without I/O.
 */

export const LOG_BURST = 5
export const LOG_INTERVAL_MS = 10_000
/**
 * Kinds tracked at once per interval; lines of further kinds share one overflow kind, so that
 * messages that all differ cannot defeat the limit.
 */
export const MAX_KINDS = 64
const OVERFLOW = "\u0000overflow"

export interface Summary {
  readonly level: string
  /** The first line of the kind in the interval. */
  readonly sample: string
  readonly suppressed: number
  readonly intervalMs: number
}

interface Window {
  readonly start: number
  readonly level: string
  readonly sample: string
  passed: number
  suppressed: number
}

/**
 * The kind of a line: its level, its service and its words, with every value-like token (ids,
 * numbers, quoted text) replaced, cut to a prefix: "Message m_12 in channel c_3 …" and
 * "Message m_99 in channel c_4 …" are one kind.
 */
export const logKind = (level: string, service: unknown, message: string): string =>
  `${level}|${typeof service === "string" ? service : ""}|${
    message
      .replace(/"[^"]*"|'[^']*'|`[^`]*`/g, "\"…\"")
      .replace(/[^\s]*[0-9_][^\s]*/g, "#")
      .slice(0, 48)
  }`

export const makeLogLimiter = (burst = LOG_BURST, intervalMs = LOG_INTERVAL_MS) => {
  const windows = new Map<string, Window>()

  /** Ends the windows older than the interval; answers what they left out. */
  const expire = (now: number): Array<Summary> => {
    const summaries: Array<Summary> = []
    for (const [kind, window] of windows) {
      if (now - window.start < intervalMs) continue
      windows.delete(kind)
      if (window.suppressed > 0) {
        summaries.push({ level: window.level, sample: window.sample, suppressed: window.suppressed, intervalMs })
      }
    }
    return summaries
  }

  /** Whether the line of `kind` may be written now; else it is counted for the summary. */
  const admit = (kind: string, level: string, message: string, now: number): boolean => {
    const key = windows.has(kind) || windows.size < MAX_KINDS ? kind : OVERFLOW
    const window = windows.get(key)
    if (window === undefined) {
      windows.set(key, { start: now, level, sample: message, passed: 1, suppressed: 0 })
      return true
    }
    if (window.passed < burst) {
      window.passed++
      return true
    }
    window.suppressed++
    return false
  }

  return { admit, expire }
}

/** The line that replaces the lines left out. */
export const summaryLine = (summary: Summary): string => {
  const sample = summary.sample.length > 200 ? `${summary.sample.slice(0, 200)}…` : summary.sample
  return `${summary.suppressed} more log line(s) like this one in the last ${summary.intervalMs / 1000}s were left out: ${sample}`
}
