/**
 * Reads a `.cpuprofile` (from `--plugin-node-args "--cpu-prof --cpu-prof-dir=…"`) and prints
 * the functions with the most self time and the most total time, as % of the profile:
 *
 *   node dist-bench/bench/cpuProfile.js <file.cpuprofile> [top=25] [from_s] [to_s]
 *
 * `from_s`/`to_s` keep only the samples in that window (seconds since the profile started; a
 * negative value counts from its end), e.g. `-15` for the last 15 seconds: a reconnect storm.
 */
import { readFileSync } from "node:fs"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [file, topArg, fromArg, toArg] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: cpuProfile.js <file.cpuprofile> [top]")
const top = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const parent = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

const label = (node: ProfileNode) => {
  const { functionName, lineNumber, url } = node.callFrame
  const where = url.replace(/^.*node_modules\//, "").replace(/^.*\/dist\//, "dist/").replace(/^file:\/\//, "")
  return `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`
}

// Sample times in seconds since the start.
const times: Array<number> = []
let elapsed = 0
for (const delta of profile.timeDeltas) times.push((elapsed += delta) / 1e6)
const length = times.at(-1) ?? 0
const bound = (arg: string | undefined, fallback: number) => arg === undefined ? fallback : Number(arg) < 0 ? length + Number(arg) : Number(arg)
const from = bound(fromArg, 0)
const to = bound(toArg, length)
const samples = profile.samples.filter((_, i) => times[i]! >= from && times[i]! <= to)
process.stdout.write(`profile of ${length.toFixed(1)} s; window ${from.toFixed(1)}–${to.toFixed(1)} s\n`)

const self = new Map<string, number>()
const total = new Map<string, number>()
for (const sample of samples) {
  const leaf = byId.get(sample)!
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + 1)
  // A function counts once per sample however deep its recursion.
  const seen = new Set<string>()
  for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
    const name = label(byId.get(id)!)
    if (!seen.has(name)) total.set(name, (total.get(name) ?? 0) + 1)
    seen.add(name)
  }
}

const count = samples.length
const print = (title: string, map: Map<string, number>) => {
  process.stdout.write(`${title} (${count} samples)\n`)
  for (const [name, n] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((n / count) * 100).toFixed(1).padStart(6)}%  ${name}\n`)
  }
}
process.stdout.on("error", () => {}) // piped into head
print("self time", self)
print("total time", total)
