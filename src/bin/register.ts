#!/usr/bin/env node
import { startOperator } from "./startOperator.js"

await startOperator("plexum-fabric-register", async () => (await import("../cli/register.js")).registerProgram)
