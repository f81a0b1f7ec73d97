import { describe, expect, it } from "@effect/vitest"
import { isOwnMessage, wakes } from "../../src/inbound/WakeGate.js"

describe("WakeGate", () => {
  it("a direct message always wakes", () => {
    expect(wakes("dm", false)).toBe(true)
    expect(wakes("dm", true)).toBe(true)
  })

  it.each(["group", "public", "private", "sub_discussion"] as const)("in a %s channel only wakeup: true wakes", (xType) => {
    expect(wakes(xType, false)).toBe(false)
    expect(wakes(xType, true)).toBe(true)
  })

  it("recognises the agent's own messages by its Fabric user id", () => {
    expect(isOwnMessage("u_agent", "u_agent")).toBe(true)
    expect(isOwnMessage("u_human", "u_agent")).toBe(false)
  })
})
