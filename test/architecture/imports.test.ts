/**
 * Data flows one way through src/: no import cycle between files, and none between the folders
 * of src/ (a folder is one node; each file at the root of src/ is its own node). Type-only
 * imports and re-exports count: a type cycle is still a cycle a reader has to untangle.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"
import { cyclesOf, type Graph } from "./cycles.js"

const SRC = path.resolve(import.meta.dirname, "../../src")

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith(".ts") ? [full] : []
  })

/** Relative imports of one file (static, type-only, re-exports and dynamic), as src-relative paths. */
const importsOf = (file: string): Array<string> =>
  ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true).importedFiles
    .map((ref) => ref.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => path.relative(SRC, path.resolve(path.dirname(file), name.replace(/\.js$/, ".ts"))))

const fileGraph: Graph = new Map(
  sourceFiles(SRC).map((file) => [path.relative(SRC, file), importsOf(file)])
)

/** `fabric/FabricApi.ts` → `fabric`; `main.ts` → `main.ts`. */
const folderOf = (file: string) => file.split(path.sep)[0]!

const folderGraph: Graph = (() => {
  const graph = new Map<string, Array<string>>()
  for (const [file, imports] of fileGraph) {
    const from = folderOf(file)
    const edges = graph.get(from) ?? []
    for (const target of imports.map(folderOf)) if (target !== from && !edges.includes(target)) edges.push(target)
    graph.set(from, edges)
  }
  return graph
})()

describe("imports of src/", () => {
  it("resolve to files that exist", () => {
    const missing = [...fileGraph].flatMap(([file, imports]) => imports.filter((i) => !fileGraph.has(i)).map((i) => `${file} → ${i}`))
    expect(missing).toEqual([])
  })

  it("form no cycle between files", () => {
    expect(cyclesOf(fileGraph).map((cycle) => `cycle among ${cycle.join(", ")}`)).toEqual([])
  })

  it("form no cycle between folders", () => {
    expect(cyclesOf(folderGraph).map((cycle) => `cycle among ${cycle.join(", ")}`)).toEqual([])
  })
})
