/**
 * The one redactor: every text that leaves the plugin (tool results, stderr lines,
 * `notifications/message`, the OTLP export) passes through it. It knows every configured API key
 * and every guild token the plugin has held (Sessions and the profile register them), and it
 * recognises secrets by shape: bearer values, JWTs, URL credentials and secret query parameters.
 * Fabric may echo any of them back in an error body; none may reach the agent, the host or
 * telemetry.
 */
import { Context } from "effect"

export const REDACTED = "[redacted]"

/** Secrets shorter than this are not searched for: masking "a" everywhere helps no one. */
const MIN_SECRET_LENGTH = 6
/** Tokens rotate; the oldest ones are forgotten past this many (the shapes still catch JWTs). */
const MAX_SECRETS = 10_000

/** Each shape: the part to keep (group 1) and the secret after it (group 2). */
const SHAPES: ReadonlyArray<RegExp> = [
  // Authorization: Bearer <token> / Basic <credentials>, wherever it is quoted.
  /((?:Bearer|Basic)\s+)([A-Za-z0-9\-._~+/]{8,}=*)/gi,
  // scheme://user:password@host
  /([a-z][a-z0-9+.-]*:\/\/)([^/\s:@"']+:[^/\s@"']*)(?=@)/gi,
  // ?access_token=…&token=…&api_key=…, also a bare query string (an `url.query` attribute)
  /((?:^|[?&;"'\s])(?:access_token|refresh_token|id_token|token|api_key|apikey|key|secret|client_secret|password|passwd|pwd|auth|signature|sig|code)=)([^&#\s"'<>]+)/gi,
  // A JWT anywhere (guild tokens are JWTs).
  /()(eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)/g
]

export interface RedactorShape {
  /** Remembers `secret` (an API key, a token) so that no later text shows it. */
  readonly register: (secret: string) => void
  /** `text` with every known secret and every secret-shaped value replaced by [redacted]. */
  readonly redact: (text: string) => string
  /**
   * The same, length-preserving (each character becomes `*`): for bytes whose framing counts
   * lengths, such as an OTLP protobuf body read as latin1.
   */
  readonly mask: (text: string) => string
}

/**
 * Where the known secrets occur in `text`, as [start, end) ranges, overlapping ones merged. One
 * pass over the text: at each position, the `MIN_SECRET_LENGTH` characters ending there are
 * looked up among the secrets' own last characters, and only a secret ending so is compared.
 * Searching the text once per secret cost a reconnect storm a tenth of its CPU: with 1,000
 * guild tokens registered, every log line was searched 1,000 times.
 */
const secretRanges = (text: string, byEnding: ReadonlyMap<string, ReadonlyArray<string>>): Array<[number, number]> => {
  const ranges: Array<[number, number]> = []
  for (let end = MIN_SECRET_LENGTH; end <= text.length; end++) {
    const candidates = byEnding.get(text.slice(end - MIN_SECRET_LENGTH, end))
    if (candidates === undefined) continue
    for (const secret of candidates) {
      const start = end - secret.length
      if (start >= 0 && text.startsWith(secret, start)) ranges.push([start, end])
    }
  }
  ranges.sort((a, b) => a[0] - b[0])
  const merged: Array<[number, number]> = []
  for (const range of ranges) {
    const last = merged.at(-1)
    if (last !== undefined && range[0] <= last[1]) last[1] = Math.max(last[1], range[1])
    else merged.push([range[0], range[1]])
  }
  return merged
}

export const makeRedactor = (): RedactorShape => {
  /** Insertion-ordered, so the oldest is dropped first. */
  const secrets = new Set<string>()
  /** The secrets by their last `MIN_SECRET_LENGTH` characters. */
  const byEnding = new Map<string, Array<string>>()
  const ending = (secret: string) => secret.slice(-MIN_SECRET_LENGTH)

  const replaceAll = (text: string, replace: (secret: string) => string) => {
    let out = text
    if (byEnding.size > 0) {
      const ranges = secretRanges(text, byEnding)
      if (ranges.length > 0) {
        out = ""
        let from = 0
        for (const [start, end] of ranges) {
          out += text.slice(from, start) + replace(text.slice(start, end))
          from = end
        }
        out += text.slice(from)
      }
    }
    for (const shape of SHAPES) out = out.replace(shape, (_all, keep: string, secret: string) => keep + replace(secret))
    return out
  }

  return {
    register: (secret) => {
      if (secret.length < MIN_SECRET_LENGTH || secrets.has(secret)) return
      secrets.add(secret)
      if (secrets.size > MAX_SECRETS) {
        const oldest = secrets.values().next().value!
        secrets.delete(oldest)
        const bucket = byEnding.get(ending(oldest))!
        bucket.splice(bucket.indexOf(oldest), 1)
        if (bucket.length === 0) byEnding.delete(ending(oldest))
      }
      const bucket = byEnding.get(ending(secret))
      if (bucket === undefined) byEnding.set(ending(secret), [secret])
      else bucket.push(secret)
    },
    redact: (text) => replaceAll(text, () => REDACTED),
    mask: (text) => replaceAll(text, (secret) => "*".repeat(secret.length))
  }
}

/**
 * The process's redactor. A reference with one default instance: every edge (the host writer,
 * the OTLP client, the tools) and every source of secrets (the profile, Sessions) meet in it
 * without being wired to each other; a test provides a fresh one.
 */
export class Redactor extends Context.Reference<Redactor>()("plexum-fabric/Redactor", {
  defaultValue: makeRedactor
}) {}
