#!/usr/bin/env node
// Entry point of the `heartbeat-mesh` command. Checks the Node.js version before loading any
// TypeScript, so a wrong Node fails with a sentence instead of a syntax error.
import module from "node:module"
import { checkNodeVersion } from "./check-node.mjs"

checkNodeVersion()
// The sender runs every minute on every host: keep V8's compiled code on disk between runs
// (NODE_COMPILE_CACHE overrides the folder). Measured here: see bench/ and the README.
module.enableCompileCache?.()
await import("../cli/main.ts")
