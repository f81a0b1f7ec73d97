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

/** The rolling hash of `MIN_SECRET_LENGTH` characters: base and the weight of the oldest one. */
const HASH_BASE = 31
const OLDEST_WEIGHT = (() => {
  let weight = 1
  for (let i = 1; i < MIN_SECRET_LENGTH; i++) weight = Math.imul(weight, HASH_BASE)
  return weight
})()

/** The hash of the `MIN_SECRET_LENGTH` characters of `text` that end at `end`. */
const hashEnding = (text: string, end: number): number => {
  let hash = 0
  for (let i = end - MIN_SECRET_LENGTH; i < end; i++) hash = (Math.imul(hash, HASH_BASE) + text.charCodeAt(i)) | 0
  return hash
}

/**
 * Where the known secrets occur in `text`, as [start, end) ranges, overlapping ones merged. One
 * pass over the text: at each position, a rolling hash of the `MIN_SECRET_LENGTH` characters
 * ending there is looked up among the hashes of the secrets' own last characters, and only a
 * secret ending so is compared. Searching the text once per secret cost a reconnect storm a
 * tenth of its CPU (1,000 guild tokens, every log line searched 1,000 times); a substring per
 * position as the key allocated 300 MB over a fleet bench (`plexum/debug/fibers` answers are
 * long), where the hash allocates nothing.
 */
const secretRanges = (text: string, byEnding: ReadonlyMap<number, ReadonlyArray<string>>): Array<[number, number]> => {
  const ranges: Array<[number, number]> = []
  if (text.length < MIN_SECRET_LENGTH) return ranges
  let hash = hashEnding(text, MIN_SECRET_LENGTH)
  for (let end = MIN_SECRET_LENGTH; ; end++) {
    const candidates = byEnding.get(hash)
    if (candidates !== undefined) {
      for (const secret of candidates) {
        const start = end - secret.length
        if (start >= 0 && text.startsWith(secret, start)) ranges.push([start, end])
      }
    }
    if (end === text.length) break
    hash = (Math.imul(hash - Math.imul(text.charCodeAt(end - MIN_SECRET_LENGTH), OLDEST_WEIGHT), HASH_BASE) + text.charCodeAt(end)) | 0
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
  /** The secrets by the hash of their last `MIN_SECRET_LENGTH` characters. */
  const byEnding = new Map<number, Array<string>>()
  const ending = (secret: string) => hashEnding(secret, secret.length)

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
