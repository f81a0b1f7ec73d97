/** Where the compiled bench entry points are (bench/ compiles to dist-bench/bench/). */
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))

export const simHostPath = join(here, "simHost.js")
export const rawClientPath = join(here, "rawClient.js")
/** bench/results/, from dist-bench/bench/. */
export const resultsDir = join(here, "../../bench/results")
