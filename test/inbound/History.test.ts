import { describe, expect, it } from "@effect/vitest"
import { HistoryBuffer } from "../../src/inbound/History.js"

const m = (id: string) => ({ id })
const ids = (messages: ReadonlyArray<{ id: string }>) => messages.map((x) => x.id)

describe("HistoryBuffer", () => {
  it("carries what was recorded, oldest first, once", () => {
    const history = new HistoryBuffer(20)
    history.record(m("a"), 1)
    history.record(m("b"), 2)
    expect(ids(history.takeBefore(3))).toEqual(["a", "b"])
    expect(history.takeBefore(4)).toEqual([])
    expect(history.size).toBe(0)
  })

  it("keeps the newest `limit` messages", () => {
    const history = new HistoryBuffer(3)
    for (let i = 1; i <= 7; i++) history.record(m(`m${i}`), i)
    expect(ids(history.takeBefore(8))).toEqual(["m5", "m6", "m7"])
  })

  it("limit 0 records nothing", () => {
    const history = new HistoryBuffer(0)
    history.record(m("a"), 1)
    expect(history.size).toBe(0)
    expect(history.takeBefore(2)).toEqual([])
  })

  it("the agent's own message clears what was recorded before it", () => {
    const history = new HistoryBuffer(20)
    history.record(m("a"), 1)
    history.record(m("b"), 2)
    history.clear()
    history.record(m("c"), 4)
    expect(ids(history.takeBefore(5))).toEqual(["c"])
  })

  it("an edit that now wakes takes the message out", () => {
    const history = new HistoryBuffer(20)
    history.record(m("a"), 1)
    history.record(m("b"), 2)
    history.record(m("c"), 3)
    history.remove("b")
    history.remove("unknown")
    expect(ids(history.takeBefore(4))).toEqual(["a", "c"])
  })

  it("takes only what arrived before the delivered message: later entries wait for the next notification", () => {
    const history = new HistoryBuffer(20)
    history.record(m("chat1"), 1)
    // seq 2: a waking message, pending in a burst; seq 3 arrives after it and is recorded
    history.record(m("chat2"), 3)
    expect(ids(history.takeBefore(2))).toEqual(["chat1"])
    expect(ids(history.takeBefore(5))).toEqual(["chat2"])
  })
})
