#!/usr/bin/env node
import { runPlugin } from "../main.js"

runPlugin()
