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
