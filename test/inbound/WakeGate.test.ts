import { describe, expect, it } from "@effect/vitest"
import { isOwnCommand, isOwnMessage, wakes } from "../../src/inbound/WakeGate.js"

const AGENT = "u_agent"
const plain = (wakeup: boolean) => ({ wakeup })
const command = (wakeup: boolean, owner_id?: string | null) => ({ wakeup, command: { name: "deploy", args: "prod", owner_id } })

describe("WakeGate", () => {
  it("a direct message always wakes", () => {
    expect(wakes("dm", plain(false), AGENT)).toBe(true)
    expect(wakes("dm", plain(true), AGENT)).toBe(true)
  })

  it.each(["group", "public", "private", "sub_discussion"] as const)("in a %s channel only wakeup: true wakes", (xType) => {
    expect(wakes(xType, plain(false), AGENT)).toBe(false)
    expect(wakes(xType, plain(true), AGENT)).toBe(true)
  })

  it.each(["dm", "group", "public", "private", "sub_discussion"] as const)(
    "in a %s channel a command the agent registered wakes it without wakeup",
    (xType) => {
      expect(wakes(xType, command(false, AGENT), AGENT)).toBe(true)
    }
  )

  it.each(["group", "public", "private", "sub_discussion"] as const)(
    "in a %s channel a command owned by another user (or by nobody known) wakes only with wakeup",
    (xType) => {
      expect(wakes(xType, command(false, "u_other_agent"), AGENT)).toBe(false)
      expect(wakes(xType, command(false, null), AGENT)).toBe(false)
      expect(wakes(xType, command(false), AGENT)).toBe(false)
      expect(wakes(xType, command(true, "u_other_agent"), AGENT)).toBe(true)
    }
  )

  it("a DM still wakes when the command belongs to another user", () => {
    expect(wakes("dm", command(false, "u_other_agent"), AGENT)).toBe(true)
  })

  it("tells the agent's own commands apart", () => {
    expect(isOwnCommand(command(false, AGENT), AGENT)).toBe(true)
    expect(isOwnCommand(command(false, "u_x"), AGENT)).toBe(false)
    expect(isOwnCommand(plain(true), AGENT)).toBe(false)
  })

  it("recognises the agent's own messages by its Fabric user id", () => {
    expect(isOwnMessage("u_agent", "u_agent")).toBe(true)
    expect(isOwnMessage("u_human", "u_agent")).toBe(false)
  })
})
