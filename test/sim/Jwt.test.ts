import { describe, expect, it } from "@effect/vitest"
import { Either, Redacted } from "effect"
import * as Jwt from "../../src/sim/Jwt.js"

describe("Jwt", () => {
  const secret = Jwt.makeSecret()
  const claims = { sub: "u_1", guild: "g_1", iat: 1_000, exp: 1_060 }
  const token = Redacted.value(Jwt.sign(secret, claims))

  it("verifies its own token until exp, then calls it expired", () => {
    expect(Jwt.verify(secret, token, 1_059_999)).toEqual(Either.right(claims))
    expect(Jwt.verify(secret, token, 1_060_000)).toEqual(Either.left("token_expired"))
  })

  it("refuses a token signed with another secret or tampered with", () => {
    expect(Jwt.verify(Jwt.makeSecret(), token, 1_000_000)).toEqual(Either.left("invalid_token"))
    const [header, , signature] = token.split(".")
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: "u_2" })).toString("base64url")}.${signature}`
    expect(Jwt.verify(secret, forged, 1_000_000)).toEqual(Either.left("invalid_token"))
    expect(Jwt.verify(secret, "garbage", 1_000_000)).toEqual(Either.left("invalid_token"))
  })
})
