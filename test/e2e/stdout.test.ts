/**
 * A host that closes the plugin's stdout while nothing is being written: the plugin notices
 * (zero-byte probes, src/host/StdoutWatch.ts) and stops within 5 s.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { initializeParams, makeProfile, startPlugin } from "./harness.js"

describe("a closed stdout", () => {
  it.scopedLive("stops an idle plugin within 5 s, saying why on stderr", () =>
    Effect.gen(function*() {
      const root = yield* makeProfile({})
      const plugin = yield* startPlugin({ profileRoot: root })
      yield* plugin.call("initialize", initializeParams)
      // Idle from here: no request, no binding, nothing to write.
      yield* plugin.closeStdout
      const exit = yield* plugin.exited("5 seconds")
      expect(exit.signal).toBeNull()
      expect((yield* plugin.output).stderr).toContain("stdout closed")
    }))

  it.scopedLive("stops a plugin that was never initialized, too", () =>
    Effect.gen(function*() {
      const plugin = yield* startPlugin({ profileRoot: yield* makeProfile({}) })
      yield* plugin.call("ping")
      yield* plugin.closeStdout
      expect((yield* plugin.exited("5 seconds")).signal).toBeNull()
    }))
})
