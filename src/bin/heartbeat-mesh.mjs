#!/usr/bin/env node
// Entry point of the `heartbeat-mesh` command. Checks the Node.js version before loading any
// TypeScript, so a wrong Node fails with a sentence instead of a syntax error.
import { checkNodeVersion } from "./check-node.mjs"

checkNodeVersion()
await import("../cli/main.ts")
