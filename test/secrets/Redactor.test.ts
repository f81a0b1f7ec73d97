import { describe, expect, it } from "@effect/vitest"
import { makeRedactor } from "../../src/secrets/Redactor.js"

describe("Redactor", () => {
  const key = "fab_live_9f8e7d6c5b4a"
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1XzEifQ.c2lnbmF0dXJl"

  it("replaces registered secrets, bearer values, JWTs, URL credentials and secret query parameters", () => {
    const redactor = makeRedactor()
    redactor.register(key)
    redactor.register("tiny") // too short to search for
    expect(redactor.redact(`center refused key ${key} (Authorization: Bearer abcdefgh12345678)`)).toBe(
      "center refused key [redacted] (Authorization: Bearer [redacted])"
    )
    expect(redactor.redact(`token ${jwt} expired`)).toBe("token [redacted] expired")
    expect(redactor.redact("GET http://ops:hunter2@center.test/api?x=1&access_token=s3cr3t&limit=5")).toBe(
      "GET http://[redacted]@center.test/api?x=1&access_token=[redacted]&limit=5"
    )
    expect(redactor.redact("a tiny word and ?page=2")).toBe("a tiny word and ?page=2")
  })

  it("masks length for length, so a protobuf body keeps its framing", () => {
    const redactor = makeRedactor()
    redactor.register(key)
    const text = `\u0012\u0020${key}\u0008${jwt}`
    const masked = redactor.mask(text)
    expect(masked.length).toBe(text.length)
    expect(masked).not.toContain(key)
    expect(masked).not.toContain(jwt)
  })
})

describe("Redactor with many secrets", () => {
  it("finds each of them wherever it is, one containing another replaced whole", () => {
    const redactor = makeRedactor()
    const tokens = Array.from({ length: 1000 }, (_, i) => `tok_${i.toString(36).padStart(4, "0")}_${"k".repeat(i % 7)}end`)
    for (const token of tokens) redactor.register(token)
    redactor.register("outer-secret-inner")
    redactor.register("secret-inner")
    const line = `a ${tokens[3]} b ${tokens[999]}${tokens[500]} c outer-secret-inner d`
    expect(redactor.redact(line)).toBe("a [redacted] b [redacted] c [redacted] d")
    expect(redactor.mask(line)).toBe(line.replace(/tok_\S+?end/g, (t) => "*".repeat(t.length)).replace("outer-secret-inner", "*".repeat(18)))
    expect(redactor.redact("nothing to hide here")).toBe("nothing to hide here")
  })

  it("finds a secret that is the whole text, starts or ends it, or sits among non-ASCII text", () => {
    const redactor = makeRedactor()
    for (const secret of ["abcdef", "k3y-Z9q!x", "ünï©ødé-secret"]) redactor.register(secret)
    expect(redactor.redact("abcdef")).toBe("[redacted]")
    expect(redactor.redact("abcdef…k3y-Z9q!x")).toBe("[redacted]…[redacted]")
    expect(redactor.redact("🦊ünï©ødé-secret🦊abcde")).toBe("🦊[redacted]🦊abcde")
    expect(redactor.redact("abcde")).toBe("abcde")
    expect(redactor.redact("")).toBe("")
  })

  it("forgets the oldest secrets past its bound, and finds the newest", () => {
    const redactor = makeRedactor()
    for (let i = 0; i < 10_001; i++) redactor.register(`secret-number-${i}`)
    expect(redactor.redact("secret-number-0 secret-number-10000")).toBe("secret-number-0 [redacted]")
  })
})
