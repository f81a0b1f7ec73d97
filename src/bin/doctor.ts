#!/usr/bin/env node
import { startOperator } from "./startOperator.js"

await startOperator("plexum-fabric-doctor", async () => (await import("../cli/doctor.js")).doctorProgram)
