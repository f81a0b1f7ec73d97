/**
 * What the center and every guild node of one sim share: the state and the signing secret.
 */
import type { Redacted } from "effect"
import * as Jwt from "./Jwt.js"
import type { SimState } from "./SimState.js"

export interface SimCore {
  readonly state: SimState
  readonly secret: Jwt.JwtSecret
}

export interface IssuedToken {
  readonly token: Redacted.Redacted<string>
  readonly expiresAtMs: number
}

/** A guild access token for `userId`; `exp` is rounded up so the token lives at least `ttlSeconds`. */
export const issueGuildToken = (
  core: SimCore,
  userId: string,
  guildId: string,
  nowMs: number,
  ttlSeconds: number = core.state.tokenTtlSeconds
): IssuedToken => {
  const exp = Math.ceil((nowMs + ttlSeconds * 1000) / 1000)
  return {
    token: Jwt.sign(core.secret, { sub: userId, guild: guildId, iat: Math.floor(nowMs / 1000), exp }),
    expiresAtMs: exp * 1000
  }
}
