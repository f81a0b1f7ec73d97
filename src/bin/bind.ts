#!/usr/bin/env node
import { startOperator } from "./startOperator.js"

await startOperator("plexum-fabric-bind", async () => (await import("../cli/bind.js")).bindProgram)
