import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // End-to-end suites spawn the built plugin and the sim: give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // Fail on handles left open: a leaked socket or timer keeps the runner alive.
    teardownTimeout: 5_000
  }
})
